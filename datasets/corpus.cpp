#include "datasets/corpus.hpp"

#include "datasets/read_file.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "datasets/utf8.hpp"
#include "framework/error.hpp"

namespace xseq {

// ---- ParallelText -------------------------------------------------------------------
std::string_view ParallelText::source(std::int64_t i) const {
  const auto k = static_cast<std::size_t>(2 * i);
  return std::string_view(buffer_).substr(starts_[k], starts_[k + 1] - starts_[k]);
}

std::string_view ParallelText::target(std::int64_t i) const {
  const auto k = static_cast<std::size_t>(2 * i);
  const std::uint64_t end = k + 2 < starts_.size() ? starts_[k + 2] : buffer_.size();
  return std::string_view(buffer_).substr(starts_[k + 1], end - starts_[k + 1]);
}

void ParallelText::add(std::string_view source, std::string_view target, std::int64_t line) {
  starts_.push_back(buffer_.size());
  buffer_.append(source);
  starts_.push_back(buffer_.size());
  buffer_.append(target);
  lines_.push_back(static_cast<std::uint32_t>(line));
}

// ---- readers --------------------------------------------------------------------------
namespace {

// Reads the file in 64 KiB chunks and checks a line's length while it grows,
// so memory stays bounded by kMaxLineBytes whatever the file holds
// (std::getline would first read a line whole, however long).
class LineReader {
 public:
  explicit LineReader(const std::string& path) : path_(path), in_(path, std::ios::binary), buffer_(64 << 10) {
    XSEQ_CHECK(in_.is_open(), "cannot open '", path, "' (missing or unreadable)", resolved_note(path));
  }
  /// The next line without its '\n' (and '\r'), checked by check_text_line.
  bool next(std::string& line) {
    line.clear();
    bool any = false;
    while (pos_ < end_ || fill()) {
      any = true;
      const char* start = buffer_.data() + pos_;
      const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
      const std::size_t n = newline ? static_cast<std::size_t>(newline - start) : end_ - pos_;
      check_length(line.size() + n, kMaxLineBytes + 1);  // + 1: room for a CRLF's '\r'
      line.append(start, n);
      pos_ += n + (newline ? 1 : 0);
      if (newline) break;
    }
    if (!any) return false;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    check_length(line.size(), kMaxLineBytes);
    ++number_;
    if (number_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // a byte order mark
    check_text_line(line, path_, number_);
    return true;
  }
  std::int64_t number() const { return number_; }
  const std::string& path() const { return path_; }

 private:
  bool fill() {
    in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    pos_ = 0;
    end_ = static_cast<std::size_t>(in_.gcount());
    XSEQ_CHECK(end_ > 0 || in_.eof(), "cannot read '", path_, "' (I/O error after line ", number_, ")");
    return end_ > 0;
  }
  void check_length(std::size_t bytes, std::size_t limit) const {
    XSEQ_CHECK(bytes <= limit, path_, ":", number_ + 1, ": line longer than ", kMaxLineBytes,
               " bytes (1 MiB, the longest line xseq reads; is this a text file with one sentence per line?)");
  }

  std::string path_;
  std::ifstream in_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0, end_ = 0;
  std::int64_t number_ = 0;
};

std::uint64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }

}  // namespace

ParallelText read_tsv(const std::string& path) {
  LineReader reader(path);
  ParallelText text(path);
  text.reserve(file_size(path));
  std::string line;
  while (reader.next(line)) {
    const std::size_t tab = line.find('\t');
    XSEQ_CHECK(tab != std::string::npos, path, ":", reader.number(), ": no tab (expected 'source<TAB>target')");
    XSEQ_CHECK(line.find('\t', tab + 1) == std::string::npos, path, ":", reader.number(),
               ": more than one tab (expected 'source<TAB>target')");
    const std::string_view src(line.data(), tab), tgt(line.data() + tab + 1, line.size() - tab - 1);
    XSEQ_CHECK(!blank(src), path, ":", reader.number(), ": empty source side");
    XSEQ_CHECK(!blank(tgt), path, ":", reader.number(), ": empty target side");
    text.add(src, tgt, reader.number());
  }
  XSEQ_CHECK(!text.empty(), path, ": empty file (no sentence pairs)");
  return text;
}

ParallelText read_parallel(const std::string& source_path, const std::string& target_path) {
  LineReader src(source_path), tgt(target_path);
  ParallelText text(source_path + " + " + target_path);
  text.reserve(file_size(source_path) + file_size(target_path));
  std::string s, t;
  while (true) {
    const bool has_s = src.next(s), has_t = tgt.next(t);
    if (!has_s && !has_t) break;
    XSEQ_CHECK(has_s && has_t, "'", source_path, "' and '", target_path, "' differ in length: ",
               (has_s ? target_path : source_path), " ends after ", (has_s ? tgt.number() : src.number()),
               " lines while ", (has_s ? source_path : target_path), " goes on (line ",
               (has_s ? src.number() : tgt.number()), ")");
    XSEQ_CHECK(!blank(s), source_path, ":", src.number(), ": empty source side");
    XSEQ_CHECK(!blank(t), target_path, ":", tgt.number(), ": empty target side");
    text.add(s, t, src.number());
  }
  XSEQ_CHECK(!text.empty(), source_path, ": empty file (no sentence pairs)");
  return text;
}

ParallelText read_corpus(const std::string& spec) {
  const std::size_t comma = spec.find(',');
  if (comma == std::string::npos) return read_tsv(spec);
  return read_parallel(spec.substr(0, comma), spec.substr(comma + 1));
}

// ---- IdStore, TokenizedCorpus ---------------------------------------------------------------
void IdStore::append(const std::vector<std::int32_t>& ids) {
  for (const std::int32_t id : ids) {
    XSEQ_CHECK(id >= 0, "IdStore: negative token id ", id);
    if (!is_wide_ && id > 0xFFFF) {
      wide_.assign(narrow_.begin(), narrow_.end());
      std::vector<std::uint16_t>().swap(narrow_);
      is_wide_ = true;
    }
  }
  if (is_wide_) wide_.insert(wide_.end(), ids.begin(), ids.end());
  else
    for (const std::int32_t id : ids) narrow_.push_back(static_cast<std::uint16_t>(id));
  offsets_.push_back(offsets_.back() + ids.size());
}

void IdStore::reserve(std::uint64_t ids, std::uint64_t sentences) {
  if (is_wide_) wide_.reserve(ids);
  else narrow_.reserve(ids);
  offsets_.reserve(sentences + 1);
}

void TokenizedCorpus::reserve(std::uint64_t ids_per_side, std::uint64_t pairs) {
  source_.reserve(ids_per_side, pairs);
  target_.reserve(ids_per_side, pairs);
  origin_index_.reserve(pairs);
}

std::int32_t IdStore::at(std::int64_t i, std::int64_t k) const {
  const std::size_t pos = offsets_[static_cast<std::size_t>(i)] + static_cast<std::size_t>(k);
  return is_wide_ ? wide_[pos] : narrow_[pos];
}

void IdStore::copy(std::int64_t i, std::int32_t* out) const {
  const std::size_t begin = offsets_[static_cast<std::size_t>(i)], end = offsets_[static_cast<std::size_t>(i) + 1];
  if (is_wide_) std::copy(wide_.begin() + static_cast<std::ptrdiff_t>(begin), wide_.begin() + static_cast<std::ptrdiff_t>(end), out);
  else std::copy(narrow_.begin() + static_cast<std::ptrdiff_t>(begin), narrow_.begin() + static_cast<std::ptrdiff_t>(end), out);
}

void TokenizedCorpus::add(const std::vector<std::int32_t>& src, const std::vector<std::int32_t>& tgt,
                          std::int64_t origin_index) {
  source_.append(src);
  target_.append(tgt);
  origin_index_.push_back(static_cast<std::uint32_t>(origin_index));
}

std::string EncodeReport::summary(const std::string& origin) const {
  std::ostringstream out;
  out << origin << ": kept " << pairs_kept << " of " << pairs_read << " pairs";
  if (dropped_too_long > 0) out << "; dropped " << dropped_too_long << " with a side longer than max_len";
  if (truncated > 0) out << "; truncated " << truncated << " with a side longer than the length limit";
  if (source_unknown + target_unknown > 0)
    out << "; " << source_unknown << " source and " << target_unknown << " target tokens unknown (mapped to <unk>)";
  return out.str();
}

TokenizedCorpus encode_corpus(const ParallelText& text, const Tokenizer& source_tokenizer,
                              const Tokenizer& target_tokenizer, const Vocab& source_vocab,
                              const Vocab& target_vocab, const EncodeOptions& options, EncodeReport* report) {
  TokenizedCorpus corpus;
  // Every tokenizer here yields at most one token per byte.
  corpus.reserve(text.bytes(), static_cast<std::uint64_t>(text.size()));
  EncodeReport r;
  std::vector<std::int32_t> src_ids, tgt_ids;
  auto to_ids = [](const std::vector<std::string>& tokens, const Vocab& vocab, std::vector<std::int32_t>& ids,
                   std::int64_t& unknown) {
    ids.clear();
    for (const auto& t : tokens) {
      const std::int32_t id = vocab.id(t);
      unknown += id == Vocab::kUnk && t != "<unk>";
      ids.push_back(id);
    }
  };
  for (std::int64_t i = 0; i < text.size(); ++i) {
    ++r.pairs_read;
    auto src = source_tokenizer.encode(text.source(i));
    auto tgt = target_tokenizer.encode(text.target(i));
    const std::int64_t longest = static_cast<std::int64_t>(std::max(src.size(), tgt.size()));
    if (options.max_len > 0 && longest > options.max_len && options.over_long == OverLong::truncate) {
      src.resize(std::min<std::size_t>(src.size(), static_cast<std::size_t>(options.max_len)));
      tgt.resize(std::min<std::size_t>(tgt.size(), static_cast<std::size_t>(options.max_len)));
      ++r.truncated;
    } else if (options.max_len > 0 && longest > options.max_len) {
      XSEQ_CHECK(options.over_long == OverLong::drop, text.origin(), ":", text.line(i), ": the ",
                 (src.size() >= tgt.size() ? "source" : "target"), " side has ", longest,
                 " tokens, more than max_len ", options.max_len, " (or set over-long pairs to be dropped)");
      ++r.dropped_too_long;
      continue;
    }
    to_ids(src, source_vocab, src_ids, r.source_unknown);
    to_ids(tgt, target_vocab, tgt_ids, r.target_unknown);
    corpus.add(src_ids, tgt_ids, i);
    ++r.pairs_kept;
  }
  XSEQ_CHECK(corpus.size() > 0, text.origin(), ": no pair is within max_len ", options.max_len, " tokens");
  if (report) *report = r;
  return corpus;
}

void count_tokens(const ParallelText& text, const Tokenizer& tokenizer, Side side, VocabBuilder& builder) {
  for (std::int64_t i = 0; i < text.size(); ++i) {
    if (side != Side::target) builder.add(tokenizer.encode(text.source(i)));
    if (side != Side::source) builder.add(tokenizer.encode(text.target(i)));
  }
}

// ---- statistics --------------------------------------------------------------------------------
namespace {

SideStats side_stats(std::vector<std::int64_t>& lengths, std::int64_t distinct) {
  SideStats s;
  std::sort(lengths.begin(), lengths.end());
  for (auto l : lengths) s.tokens += l;
  s.distinct = distinct;
  const auto pct = [&](double p) {
    const auto k = static_cast<std::size_t>(p * double(lengths.size() - 1) + 0.5);
    return lengths[std::min(k, lengths.size() - 1)];
  };
  s.p50 = pct(0.5);
  s.p90 = pct(0.9);
  s.p99 = pct(0.99);
  s.max = lengths.back();
  s.mean = double(s.tokens) / double(lengths.size());
  return s;
}

double coverage(const ParallelText& valid, const Tokenizer& tok, bool source,
                const std::unordered_set<std::string>& known) {
  std::int64_t total = 0, covered = 0;
  for (std::int64_t i = 0; i < valid.size(); ++i)
    for (const auto& t : tok.encode(source ? valid.source(i) : valid.target(i))) {
      ++total;
      covered += known.count(t);
    }
  return total == 0 ? 1.0 : double(covered) / double(total);
}

}  // namespace

CorpusStats corpus_stats(const ParallelText& train, const Tokenizer& tokenizer, const ParallelText* valid) {
  CorpusStats st;
  st.pairs = train.size();
  std::vector<std::int64_t> src_len, tgt_len;
  std::unordered_set<std::string> src_types, tgt_types;
  for (std::int64_t i = 0; i < train.size(); ++i) {
    const auto s = tokenizer.encode(train.source(i)), t = tokenizer.encode(train.target(i));
    src_len.push_back(static_cast<std::int64_t>(s.size()));
    tgt_len.push_back(static_cast<std::int64_t>(t.size()));
    src_types.insert(s.begin(), s.end());
    tgt_types.insert(t.begin(), t.end());
  }
  st.source = side_stats(src_len, static_cast<std::int64_t>(src_types.size()));
  st.target = side_stats(tgt_len, static_cast<std::int64_t>(tgt_types.size()));
  if (valid) {
    st.valid_source_coverage = coverage(*valid, tokenizer, true, src_types);
    st.valid_target_coverage = coverage(*valid, tokenizer, false, tgt_types);
  }
  return st;
}

std::string CorpusStats::to_text() const {
  std::ostringstream out;
  char line[256];
  out << "pairs: " << pairs << "\n";
  out << "side     tokens      types   mean    p50    p90    p99    max\n";
  for (int k = 0; k < 2; ++k) {
    const SideStats& s = k == 0 ? source : target;
    std::snprintf(line, sizeof line, "%-7s %8lld %10lld %6.1f %6lld %6lld %6lld %6lld\n", k == 0 ? "source" : "target",
                  static_cast<long long>(s.tokens), static_cast<long long>(s.distinct), s.mean,
                  static_cast<long long>(s.p50), static_cast<long long>(s.p90), static_cast<long long>(s.p99),
                  static_cast<long long>(s.max));
    out << line;
  }
  if (valid_source_coverage >= 0) {
    std::snprintf(line, sizeof line, "validation tokens seen in training: source %.2f%%, target %.2f%%\n",
                  100.0 * valid_source_coverage, 100.0 * valid_target_coverage);
    out << line;
  }
  return out.str();
}

std::string corpus_stats_json(const CorpusStats& stats, double padding_bucketed, double padding_unbucketed) {
  nlohmann::ordered_json json;
  json["pairs"] = stats.pairs;
  for (const auto& [name, side] : {std::pair{"source", &stats.source}, std::pair{"target", &stats.target}}) {
    auto& s = json[name];
    s["tokens"] = side->tokens;
    s["types"] = side->distinct;
    s["mean"] = side->mean;
    s["p50"] = side->p50;
    s["p90"] = side->p90;
    s["p99"] = side->p99;
    s["max"] = side->max;
  }
  if (stats.valid_source_coverage >= 0) {
    json["valid_source_coverage"] = stats.valid_source_coverage;
    json["valid_target_coverage"] = stats.valid_target_coverage;
  }
  json["padding_bucketed"] = padding_bucketed;
  json["padding_unbucketed"] = padding_unbucketed;
  return json.dump();
}


}  // namespace xseq
