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

 private:
  std::string origin_;
  std::string buffer_;
  std::vector<std::uint64_t> starts_;  // 2 per pair: source start, target start
  std::vector<std::uint32_t> lines_;
};

/// `source<TAB>target` per line. Errors name the file and line: a missing or
/// empty file, invalid UTF-8, a line without a tab (or with two), an empty side.
/// A trailing '\r' (CRLF files) is dropped.
ParallelText read_tsv(const std::string& path);
/// Line i of `source_path` pairs with line i of `target_path`; the same checks,
/// plus files of different lengths.
ParallelText read_parallel(const std::string& source_path, const std::string& target_path);
/// "a.tsv" -> read_tsv; "a.src,a.tgt" (a comma-joined pair) -> read_parallel.
ParallelText read_corpus(const std::string& spec);

/// Pairs as token ids: each side's ids of all pairs in one flat array.
class TokenizedCorpus {
 public:
  std::int64_t size() const { return static_cast<std::int64_t>(src_offsets_.size()) - 1; }
  const std::int32_t* source(std::int64_t i) const { return src_ids_.data() + src_offsets_[static_cast<std::size_t>(i)]; }
  const std::int32_t* target(std::int64_t i) const { return tgt_ids_.data() + tgt_offsets_[static_cast<std::size_t>(i)]; }
  std::int64_t source_length(std::int64_t i) const;
  std::int64_t target_length(std::int64_t i) const;
  /// Index of pair i in the ParallelText it came from (pairs may have been dropped).
  std::int64_t origin_index(std::int64_t i) const { return origin_index_[static_cast<std::size_t>(i)]; }
  void add(const std::vector<std::int32_t>& src, const std::vector<std::int32_t>& tgt, std::int64_t origin_index);
  std::int64_t source_tokens() const { return static_cast<std::int64_t>(src_ids_.size()); }
  std::int64_t target_tokens() const { return static_cast<std::int64_t>(tgt_ids_.size()); }

 private:
  std::vector<std::int32_t> src_ids_, tgt_ids_;
  std::vector<std::uint64_t> src_offsets_{0}, tgt_offsets_{0};
  std::vector<std::int64_t> origin_index_;
};

enum class OverLong { drop, reject };

struct EncodeOptions {
  std::int64_t max_len = 0;  ///< per side, in tokens (0 = no limit)
  OverLong over_long = OverLong::drop;
};

struct EncodeReport {
  std::int64_t pairs_read = 0, pairs_kept = 0, dropped_too_long = 0;
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
  std::string to_text() const;
  std::string to_json() const;
};

CorpusStats corpus_stats(const ParallelText& train, const Tokenizer& tokenizer, const ParallelText* valid);

}  // namespace xseq
