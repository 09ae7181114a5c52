#include "datasets/pipeline.hpp"

#include <cstring>

#include "framework/h5.hpp"

namespace xseq {
namespace {

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// SentencePiece models are binary; HDF5 strings are NUL-terminated, so store base64.
std::string base64_encode(const std::string& in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const auto b = [&](std::size_t k) { return k < in.size() ? static_cast<unsigned char>(in[k]) : 0u; };
    const unsigned v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kBase64[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kBase64[v & 63] : '=';
  }
  return out;
}

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
  return tokenizer->decode(tokens);
}

void TextPipeline::save(CheckpointExtras& extras) const {
  extras.strings["vocab/src"] = source_vocab.serialize();
  extras.strings["vocab/tgt"] = target_vocab.serialize();
  extras.attributes["tokenizer"] = tokenizer->name();
  if (auto* sp = dynamic_cast<const SentencePieceTokenizer*>(tokenizer.get()))
    extras.strings["tokenizer/sentencepiece_base64"] = base64_encode(sp->serialized());
}

TextPipeline TextPipeline::load(const H5File& file) {
  TextPipeline p;
  const std::string name = file.attribute("tokenizer");
  XSEQ_CHECK(!name.empty(), "checkpoint '", file.path(), "' names no tokenizer");
  if (name == "sentencepiece")
    p.tokenizer = SentencePieceTokenizer::from_serialized(base64_decode(file.read_string("tokenizer/sentencepiece_base64")));
  else
    p.tokenizer = make_tokenizer(name);
  p.source_vocab = Vocab::deserialize(file.read_string("vocab/src"), file.path() + ":/vocab/src");
  p.target_vocab = Vocab::deserialize(file.read_string("vocab/tgt"), file.path() + ":/vocab/tgt");
  return p;
}

}  // namespace xseq
