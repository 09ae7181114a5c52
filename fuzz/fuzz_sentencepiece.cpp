// SentencePiece model bytes, through the path xseq loads them by: a .model
// file (SentencePieceTokenizer::load) and the checkpoint's copy
// (from_serialized). An accepted model then encodes and decodes some text.
// libsentencepiece itself is not instrumented: coverage guidance stops at its
// boundary, but crashes inside it are still caught.
#include <cstdint>
#include <string>

#include "datasets/tokenizer.hpp"
#include "framework/error.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace xseq;
  const std::string bytes(fuzz::as_text(data, size));
  try {
    const fuzz::MemFile file("model", bytes);
    const auto tokenizer = SentencePieceTokenizer::load(file.path());
    const auto pieces = tokenizer->encode("héllo wörld, 中文 😀 <s> ");
    tokenizer->decode(pieces);
    tokenizer->piece_count();
    tokenizer->serialized();
  } catch (const Error& e) {
    fuzz::rejected(e);
  }
  return 0;
}
