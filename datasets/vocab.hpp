// Vocab: token <-> id, with the special tokens at fixed ids.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace xseq {

class Vocab {
 public:
  static constexpr std::int32_t kPad = 0, kUnk = 1, kBos = 2, kEos = 3;
  static const std::vector<std::string>& specials();  ///< "<pad>", "<unk>", "<s>", "</s>"

  /// Only the special tokens.
  Vocab();
  /// specials() followed by `tokens` (which must not repeat or contain specials).
  explicit Vocab(const std::vector<std::string>& tokens);

  std::int64_t size() const { return static_cast<std::int64_t>(tokens_.size()); }
  /// The id of `token`, or kUnk.
  std::int32_t id(const std::string& token) const;
  bool contains(const std::string& token) const { return index_.count(token) > 0; }
  const std::string& token(std::int32_t id) const;
  const std::vector<std::string>& tokens() const { return tokens_; }

  /// One token per line after a header line; tokens may contain spaces.
  void save(const std::string& path) const;
  static Vocab load(const std::string& path);
  /// The same format in memory (checkpoints store it as a string).
  std::string serialize() const;
  static Vocab deserialize(const std::string& text, const std::string& origin = "<string>");

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, std::int32_t> index_;
};

/// Counts tokens, then keeps those seen at least min_freq times, most frequent
/// first (ties by byte order, so the result is deterministic), at most
/// max_size tokens including the specials (0 = no limit).
class VocabBuilder {
 public:
  void add(const std::vector<std::string>& tokens);
  void add(const std::string& token, std::int64_t count = 1);
  Vocab build(std::int64_t min_freq = 1, std::int64_t max_size = 0) const;
  std::int64_t distinct() const { return static_cast<std::int64_t>(counts_.size()); }

 private:
  std::unordered_map<std::string, std::int64_t> counts_;
};

}  // namespace xseq
