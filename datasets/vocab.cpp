#include "datasets/vocab.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "datasets/read_file.hpp"
#include "datasets/utf8.hpp"
#include "framework/error.hpp"

namespace xseq {
namespace {
const char* kHeader = "#xseq-vocab 1";
}

const std::vector<std::string>& Vocab::specials() {
  static const std::vector<std::string> s{"<pad>", "<unk>", "<s>", "</s>"};
  return s;
}

Vocab::Vocab() : Vocab(std::vector<std::string>{}) {}

Vocab::Vocab(const std::vector<std::string>& tokens) {
  tokens_ = specials();
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    XSEQ_CHECK(!tokens_[i].empty(), "Vocab: token ", i, " is empty");
    XSEQ_CHECK(tokens_[i].find('\n') == std::string::npos, "Vocab: token ", i, " contains a newline");
    // A checkpoint stores the vocabulary as a C string: a NUL would cut it short.
    XSEQ_CHECK(tokens_[i].find('\0') == std::string::npos, "Vocab: token ", i, " contains a NUL byte");
    const bool inserted = index_.emplace(tokens_[i], static_cast<std::int32_t>(i)).second;
    XSEQ_CHECK(inserted, "Vocab: token '", tokens_[i], "' appears twice",
               (i < 4 || index_.at(tokens_[i]) < 4 ? " (it is a special token)" : ""));
  }
}

std::int32_t Vocab::id(const std::string& token) const {
  const auto it = index_.find(token);
  return it == index_.end() ? kUnk : it->second;
}

const std::string& Vocab::token(std::int32_t id) const {
  XSEQ_CHECK(id >= 0 && id < size(), "Vocab: id ", id, " is outside [0, ", size(), ")");
  return tokens_[static_cast<std::size_t>(id)];
}

std::string Vocab::serialize() const {
  std::string out = std::string(kHeader) + "\n";
  for (std::size_t i = specials().size(); i < tokens_.size(); ++i) out += tokens_[i] + "\n";
  return out;
}

Vocab Vocab::deserialize(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  std::string line;
  XSEQ_CHECK(std::getline(in, line) && line == kHeader, origin, ":1: not an xseq vocabulary (expected the header '",
             kHeader, "')");
  std::vector<std::string> tokens;
  std::unordered_map<std::string, std::int64_t> first_line;
  for (std::int64_t number = 2; std::getline(in, line); ++number) {
    XSEQ_CHECK(!line.empty(), origin, ":", number, ": empty line (a vocabulary holds one token per line)");
    const std::size_t bad = find_invalid_utf8(line);
    XSEQ_CHECK(bad == std::string::npos, origin, ":", number, ": invalid UTF-8 at byte ", bad + 1, " of the line");
    XSEQ_CHECK(line.find('\0') == std::string::npos, origin, ":", number, ": a NUL byte (U+0000) at byte ",
               line.find('\0') + 1, " of the line");
    const auto& s = specials();
    XSEQ_CHECK(std::find(s.begin(), s.end(), line) == s.end(), origin, ":", number, ": '", line,
               "' is a special token (the specials take ids 0-3 and are not listed)");
    const auto [it, inserted] = first_line.emplace(line, number);
    XSEQ_CHECK(inserted, origin, ":", number, ": token '", line, "' appears twice (first on line ", it->second, ")");
    tokens.push_back(line);
  }
  return Vocab(tokens);
}

void Vocab::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary);
  XSEQ_CHECK(out.good(), "Vocab: cannot write '", path, "'");
  out << serialize();
  XSEQ_CHECK(out.good(), "Vocab: writing '", path, "' failed");
}

Vocab Vocab::load(const std::string& path) { return deserialize(read_whole_file(path, "Vocab"), path); }

void VocabBuilder::add(const std::vector<std::string>& tokens) {
  for (const auto& t : tokens) ++counts_[t];
}

void VocabBuilder::add(const std::string& token, std::int64_t count) { counts_[token] += count; }

Vocab VocabBuilder::build(std::int64_t min_freq, std::int64_t max_size) const {
  XSEQ_CHECK(max_size == 0 || max_size > 4, "Vocab: max_size ", max_size,
             " leaves no room beyond the 4 special tokens (use 0 for no limit)");
  std::vector<std::pair<std::string, std::int64_t>> entries;
  for (const auto& [token, count] : counts_) {
    const auto& s = Vocab::specials();
    if (count >= min_freq && std::find(s.begin(), s.end(), token) == s.end()) entries.emplace_back(token, count);
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (max_size > 0 && static_cast<std::int64_t>(entries.size()) > max_size - 4) entries.resize(max_size - 4);
  std::vector<std::string> tokens;
  for (auto& e : entries) tokens.push_back(std::move(e.first));
  return Vocab(tokens);
}

}  // namespace xseq
