// Parallel corpora: reading (one TSV file, or two line-aligned files as Marian
// and OpenNMT take them), tokenising into ids, and statistics.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/tokenizer.hpp"
#include "datasets/vocab.hpp"

namespace xseq {

/// Raw sentence pairs. Every side lives in one buffer (no string per sentence),
/// so a corpus costs about its file size plus 20 bytes per pair.
class ParallelText {
 public:
  ParallelText() = default;
  explicit ParallelText(std::string origin) : origin_(std::move(origin)) {}
  std::int64_t size() const { return static_cast<std::int64_t>(lines_.size()); }
  bool empty() const { return lines_.empty(); }
  std::string_view source(std::int64_t i) const;
  std::string_view target(std::int64_t i) const;
  /// 1-based line number of pair i in its file(s).
  std::int64_t line(std::int64_t i) const { return lines_[static_cast<std::size_t>(i)]; }
  /// The file(s) it came from, for messages ("train.tsv" or "train.src + train.tgt").
  const std::string& origin() const { return origin_; }
  void add(std::string_view source, std::string_view target, std::int64_t line);
  /// Reserves room for about `bytes` of text (readers pass the file size, so
  /// the buffer is allocated once instead of growing by doubling).
  void reserve(std::uint64_t bytes) { buffer_.reserve(bytes); }
  /// Bytes of text held (both sides).
  std::uint64_t bytes() const { return buffer_.size(); }

 private:
  std::string origin_;
  std::string buffer_;
  std::vector<std::uint64_t> starts_;  // 2 per pair: source start, target start
  std::vector<std::uint32_t> lines_;
};

/// The longest line a corpus reader accepts, in bytes without the line ending
/// (1 MiB). Longer lines are an error naming the file and line, found before
/// the line is held in memory whole (a file without newlines cannot exhaust it).
constexpr std::size_t kMaxLineBytes = std::size_t{1} << 20;

/// `source<TAB>target` per line. Errors name the file and line: a missing or
/// empty file, invalid UTF-8, a control character other than TAB (NUL, a stray
/// CR, ESC, ...), a line longer than kMaxLineBytes, a line without a tab (or
/// with two), an empty side. A trailing '\r' (CRLF files) and a UTF-8 byte
/// order mark at the start of the file are dropped.
ParallelText read_tsv(const std::string& path);
/// Line i of `source_path` pairs with line i of `target_path`; the same checks,
/// plus files of different lengths.
ParallelText read_parallel(const std::string& source_path, const std::string& target_path);
/// "a.tsv" -> read_tsv; "a.src,a.tgt" (a comma-joined pair) -> read_parallel.
ParallelText read_corpus(const std::string& spec);

/// The token ids of one side of a corpus, all sentences in one flat array:
/// 2 bytes per id while every id fits in 16 bits (any vocabulary of up to
/// 65,536 tokens), 4 bytes once one does not.
class IdStore {
 public:
  void append(const std::vector<std::int32_t>& ids);
  /// Room for this many ids and sentences. Reserving an upper bound costs
  /// nothing resident (untouched pages are not mapped) and saves the copies
  /// and the 2x peak of growing by doubling.
  void reserve(std::uint64_t ids, std::uint64_t sentences);
  std::int64_t sentences() const { return static_cast<std::int64_t>(offsets_.size()) - 1; }
  std::int64_t length(std::int64_t i) const {
    return static_cast<std::int64_t>(offsets_[static_cast<std::size_t>(i) + 1] - offsets_[static_cast<std::size_t>(i)]);
  }
  std::int32_t at(std::int64_t i, std::int64_t k) const;
  /// Writes sentence i's ids to out[0 .. length(i)).
  void copy(std::int64_t i, std::int32_t* out) const;
  std::int64_t tokens() const { return static_cast<std::int64_t>(offsets_.back()); }

 private:
  std::vector<std::uint16_t> narrow_;
  std::vector<std::int32_t> wide_;
  bool is_wide_ = false;
  std::vector<std::uint64_t> offsets_{0};
};

/// Pairs as token ids.
class TokenizedCorpus {
 public:
  std::int64_t size() const { return source_.sentences(); }
  const IdStore& source() const { return source_; }
  const IdStore& target() const { return target_; }
  std::int64_t source_length(std::int64_t i) const { return source_.length(i); }
  std::int64_t target_length(std::int64_t i) const { return target_.length(i); }
  /// Index of pair i in the ParallelText it came from (pairs may have been dropped).
  std::int64_t origin_index(std::int64_t i) const { return origin_index_[static_cast<std::size_t>(i)]; }
  void add(const std::vector<std::int32_t>& src, const std::vector<std::int32_t>& tgt, std::int64_t origin_index);
  void reserve(std::uint64_t ids_per_side, std::uint64_t pairs);
  std::int64_t source_tokens() const { return source_.tokens(); }
  std::int64_t target_tokens() const { return target_.tokens(); }

 private:
  IdStore source_, target_;
  std::vector<std::uint32_t> origin_index_;
};

/// Pairs with a side over max_len: dropped (counted), an error, or cut to max_len (counted; eval/translate).
enum class OverLong { drop, reject, truncate };

struct EncodeOptions {
  std::int64_t max_len = 0;  ///< per side, in tokens (0 = no limit)
  OverLong over_long = OverLong::drop;
};

struct EncodeReport {
  std::int64_t pairs_read = 0, pairs_kept = 0, dropped_too_long = 0, truncated = 0;
  std::int64_t source_unknown = 0, target_unknown = 0;  ///< tokens mapped to <unk>
  /// "kept 998 of 1000 pairs; dropped 2 longer than max_len 50 tokens; 3 target tokens unknown ..."
  std::string summary(const std::string& origin) const;
};

/// Tokenises and maps every pair to ids. Pairs with a side longer than max_len
/// are dropped (counted in the report) or, with OverLong::reject, an error
/// naming the file and line.
TokenizedCorpus encode_corpus(const ParallelText& text, const Tokenizer& source_tokenizer,
                              const Tokenizer& target_tokenizer, const Vocab& source_vocab,
                              const Vocab& target_vocab, const EncodeOptions& options, EncodeReport* report);

/// Adds every token of one side (or both) to a vocabulary builder.
enum class Side { source, target, both };
void count_tokens(const ParallelText& text, const Tokenizer& tokenizer, Side side, VocabBuilder& builder);

struct SideStats {
  std::int64_t tokens = 0, distinct = 0;
  std::int64_t p50 = 0, p90 = 0, p99 = 0, max = 0;  ///< sentence length percentiles, tokens
  double mean = 0.0;
};

struct CorpusStats {
  std::int64_t pairs = 0;
  SideStats source, target;
  /// Share of validation tokens (per side) that the training data contains
  /// (-1 when no validation set was given).
  double valid_source_coverage = -1.0, valid_target_coverage = -1.0;
  std::string to_text() const;  ///< (JSON: corpus_stats_json below)
};

CorpusStats corpus_stats(const ParallelText& train, const Tokenizer& tokenizer, const ParallelText* valid);

/// What `xseq data stats --json` prints: the statistics and the batch padding.
std::string corpus_stats_json(const CorpusStats& stats, double padding_bucketed, double padding_unbucketed);

}  // namespace xseq
