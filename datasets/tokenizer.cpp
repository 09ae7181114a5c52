#include "datasets/tokenizer.hpp"

#include <algorithm>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <fstream>
#include <unordered_map>
#include <unordered_set>

#include "datasets/read_file.hpp"
#include "datasets/utf8.hpp"
#include "framework/error.hpp"

namespace xseq {

std::vector<std::string> CharTokenizer::encode(std::string_view text) const { return split_code_points(text); }

std::string CharTokenizer::decode(const std::vector<std::string>& tokens) const {
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

std::vector<std::string> SpaceTokenizer::encode(std::string_view text) const {
  std::vector<std::string> out;
  std::size_t i = 0;
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

std::string SpaceTokenizer::decode(const std::vector<std::string>& tokens) const {
  std::string out;
  for (std::size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
  return out;
}

// ---- SentencePiece ------------------------------------------------------------------
struct SentencePieceTokenizer::Impl {
  sentencepiece::SentencePieceProcessor processor;
};

SentencePieceTokenizer::SentencePieceTokenizer() : impl_(std::make_unique<Impl>()) {}
SentencePieceTokenizer::~SentencePieceTokenizer() = default;

namespace {
class VectorIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorIterator(const std::vector<std::string>& s) : sentences_(s) {}
  bool done() const override { return i_ >= sentences_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return sentences_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& sentences_;
  std::size_t i_ = 0;
};
}  // namespace

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::train(const std::vector<std::string>& sentences,
                                                                      const SentencePieceOptions& options) {
  XSEQ_CHECK(options.model_type == "unigram" || options.model_type == "bpe", "sentencepiece: model_type '",
             options.model_type, "' is not 'unigram' or 'bpe'");
  XSEQ_CHECK(!sentences.empty(), "sentencepiece: no training sentences");
  const std::int64_t vocab_size = std::max(options.vocab_size, minimum_vocab_size(sentences));
  const std::unordered_map<std::string, std::string> args{
      {"model_type", options.model_type},
      {"vocab_size", std::to_string(vocab_size)},
      {"character_coverage", "1.0"},
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      {"byte_fallback", "true"},
      {"split_digits", "false"},
      {"hard_vocab_limit", "false"},
      {"minloglevel", "2"},
      {"num_threads", "1"},  // deterministic
      {"input_sentence_size", "2000000"},
      {"shuffle_input_sentence", "false"},
  };
  VectorIterator it(sentences);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &model);
  XSEQ_CHECK(status.ok(), "sentencepiece: training failed: ", status.ToString());
  return from_serialized(model);
}

std::int64_t SentencePieceTokenizer::minimum_vocab_size(const std::vector<std::string>& sentences) {
  std::unordered_set<std::string> characters;
  for (const auto& s : sentences)
    for (auto& cp : split_code_points(s)) characters.insert(std::move(cp));
  characters.insert(" ");  // the word boundary piece
  return std::int64_t(characters.size()) + 256 + 3;
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::from_serialized(const std::string& model_proto) {
  std::unique_ptr<SentencePieceTokenizer> t(new SentencePieceTokenizer());
  sentencepiece::util::Status status;
  try {
    status = t->impl_->processor.LoadFromSerializedProto(model_proto);
  } catch (const std::exception& e) {
    // Some damaged models make the library throw instead of returning a status
    // (a piece that starts with a NUL byte: Darts' "zero-length key"; found by fuzz_sentencepiece).
    XSEQ_CHECK(false, "sentencepiece: not a valid model: ", e.what());
  }
  XSEQ_CHECK(status.ok(), "sentencepiece: not a valid model: ", status.ToString());
  return t;
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::load(const std::string& path) {
  const std::string bytes = read_whole_file(path, "sentencepiece", "model file ");
  try {
    return from_serialized(bytes);
  } catch (const Error& e) {
    XSEQ_CHECK(false, "sentencepiece: '", path, "' is not a SentencePiece model (", e.what(), ")");
  }
  return nullptr;
}

std::vector<std::string> SentencePieceTokenizer::encode(std::string_view text) const {
  std::vector<std::string> pieces;
  const auto status = impl_->processor.Encode(std::string(text), &pieces);
  XSEQ_CHECK(status.ok(), "sentencepiece: encoding failed: ", status.ToString());
  return pieces;
}

std::string SentencePieceTokenizer::decode(const std::vector<std::string>& tokens) const {
  std::string text;
  const auto status = impl_->processor.Decode(tokens, &text);
  XSEQ_CHECK(status.ok(), "sentencepiece: decoding failed: ", status.ToString());
  return text;
}

std::string SentencePieceTokenizer::serialized() const { return impl_->processor.serialized_model_proto(); }

void SentencePieceTokenizer::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary);
  out << serialized();
  XSEQ_CHECK(out.good(), "sentencepiece: cannot write '", path, "'");
}

std::int64_t SentencePieceTokenizer::piece_count() const { return impl_->processor.GetPieceSize(); }

std::unique_ptr<Tokenizer> make_tokenizer(const std::string& name) {
  if (name == "char") return std::make_unique<CharTokenizer>();
  if (name == "space") return std::make_unique<SpaceTokenizer>();
  XSEQ_CHECK(name != "sentencepiece", "tokenizer 'sentencepiece' needs a model: train one on the data or load a .model file");
  XSEQ_CHECK(false, "unknown tokenizer '", name, "' (expected char, space or sentencepiece)");
  return nullptr;
}

}  // namespace xseq
