#include "datasets/pipeline.hpp"

#include <cstring>

#include "framework/h5.hpp"

namespace xseq {
namespace {

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Checkpoints of format versions 1 and 2 stored the SentencePiece model as a
// base64 string (HDF5 strings end at a NUL); version 3 stores the bytes.
std::string base64_decode(const std::string& in) {
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::strchr(kBase64, c);
    if (c == '=' || p == nullptr || c == '\0') continue;
    v = (v << 6) | static_cast<unsigned>(p - kBase64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((v >> bits) & 0xFF);
    }
  }
  return out;
}

}  // namespace

std::string TextPipeline::detokenize(const std::vector<std::int32_t>& ids) const {
  std::vector<std::string> tokens;
  for (auto id : ids) {
    if (id == Vocab::kEos) break;
    if (id == Vocab::kPad || id == Vocab::kBos) continue;
    tokens.push_back(target_vocab.token(id));
  }
  return target_side().decode(tokens);
}

void TextPipeline::save(CheckpointExtras& extras) const {
  extras.strings["vocab/src"] = source_vocab.serialize();
  extras.strings["vocab/tgt"] = target_vocab.serialize();
  extras.attributes["tokenizer"] = tokenizer->name();
  if (auto* sp = dynamic_cast<const SentencePieceTokenizer*>(tokenizer.get()))
    extras.bytes[kSentencePieceBytes] = sp->serialized();
  if (auto* sp = dynamic_cast<const SentencePieceTokenizer*>(target_tokenizer.get()))
    extras.bytes[kTargetSentencePieceBytes] = sp->serialized();
}

TextPipeline TextPipeline::load(const H5File& file) {
  TextPipeline p;
  const std::string name = file.attribute("tokenizer");
  XSEQ_CHECK(!name.empty(), "checkpoint '", file.path(), "' names no tokenizer");
  if (name == "sentencepiece") {
    p.tokenizer = SentencePieceTokenizer::from_serialized(stored_sentencepiece(file));
    if (file.has(kTargetSentencePieceBytes))
      p.target_tokenizer = SentencePieceTokenizer::from_serialized(file.read_bytes(kTargetSentencePieceBytes));
  } else
    p.tokenizer = make_tokenizer(name);
  p.source_vocab = Vocab::deserialize(file.read_string("vocab/src"), file.path() + ":/vocab/src");
  p.target_vocab = Vocab::deserialize(file.read_string("vocab/tgt"), file.path() + ":/vocab/tgt");
  return p;
}

std::string stored_sentencepiece(const H5File& file) {
  if (file.has(kSentencePieceBytes)) return file.read_bytes(kSentencePieceBytes);
  XSEQ_CHECK(file.has(kSentencePieceBase64), "checkpoint '", file.path(), "' names tokenizer sentencepiece but holds ",
             "no model (", kSentencePieceBytes, ")");
  return base64_decode(file.read_string(kSentencePieceBase64));
}

}  // namespace xseq
