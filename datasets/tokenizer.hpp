// Tokenizers, chosen by name in the config: "char" (each UTF-8 code point,
// spaces included), "space" (whitespace-separated tokens) and "sentencepiece"
// (subword units from Debian's libsentencepiece). decode(encode(text)) == text
// for each (for "space": text whose words are separated by single spaces).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace xseq {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::string name() const = 0;
  /// `text` must be valid UTF-8 (the readers check it).
  virtual std::vector<std::string> encode(std::string_view text) const = 0;
  virtual std::string decode(const std::vector<std::string>& tokens) const = 0;
};

class CharTokenizer : public Tokenizer {
 public:
  std::string name() const override { return "char"; }
  std::vector<std::string> encode(std::string_view text) const override;
  std::string decode(const std::vector<std::string>& tokens) const override;
};

class SpaceTokenizer : public Tokenizer {
 public:
  std::string name() const override { return "space"; }
  std::vector<std::string> encode(std::string_view text) const override;
  std::string decode(const std::vector<std::string>& tokens) const override;
};

struct SentencePieceOptions {
  /// A soft limit: a corpus too small for it gets fewer pieces, and a size below
  /// what the model needs (one piece per character seen, 256 byte pieces for
  /// byte fallback, 3 control pieces) is raised to that minimum.
  std::int64_t vocab_size = 1000;
  std::string model_type = "unigram";  ///< "unigram" or "bpe"
};

/// Trained with identity normalisation, no whitespace folding and byte
/// fallback, so that decoding restores the input byte for byte (characters
/// unseen in training become byte pieces, never <unk>).
class SentencePieceTokenizer : public Tokenizer {
 public:
  /// Trains a model on `sentences` (e.g. the training side of a corpus).
  static std::unique_ptr<SentencePieceTokenizer> train(const std::vector<std::string>& sentences,
                                                       const SentencePieceOptions& options);
  /// The smallest vocab_size training accepts for these sentences: distinct
  /// characters + 256 byte pieces + 3 control pieces (<unk>, <s>, </s>).
  static std::int64_t minimum_vocab_size(const std::vector<std::string>& sentences);
  /// Loads a `.model` file (ours or any SentencePiece model).
  static std::unique_ptr<SentencePieceTokenizer> load(const std::string& path);
  static std::unique_ptr<SentencePieceTokenizer> from_serialized(const std::string& model_proto);
  ~SentencePieceTokenizer() override;

  std::string name() const override { return "sentencepiece"; }
  std::vector<std::string> encode(std::string_view text) const override;
  std::string decode(const std::vector<std::string>& tokens) const override;
  /// The model as bytes (what a `.model` file holds; checkpoints store it).
  std::string serialized() const;
  void save(const std::string& path) const;
  std::int64_t piece_count() const;

 private:
  SentencePieceTokenizer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// "char" or "space" (a SentencePiece tokenizer needs a model: use
/// SentencePieceTokenizer::train or ::load).
std::unique_ptr<Tokenizer> make_tokenizer(const std::string& name);

}  // namespace xseq
