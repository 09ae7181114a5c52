#include "datasets/vocab.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

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
  while (std::getline(in, line)) tokens.push_back(line);
  return Vocab(tokens);
}

void Vocab::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary);
  XSEQ_CHECK(out.good(), "Vocab: cannot write '", path, "'");
  out << serialize();
  XSEQ_CHECK(out.good(), "Vocab: writing '", path, "' failed");
}

Vocab Vocab::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  XSEQ_CHECK(in.good(), "Vocab: cannot open '", path, "'");
  std::ostringstream text;
  text << in.rdbuf();
  return deserialize(text.str(), path);
}

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
