// The corpus readers (datasets/corpus.hpp): read_tsv on the input, or, when
// the input holds a "\n#xseq-fuzz-split\n" line, read_parallel on the part
// before it (source file) and after it (target file). Accepted text then goes
// through what training does with it: vocabulary, encoding, statistics.
#include <cstdint>
#include <string>

#include "datasets/corpus.hpp"
#include "framework/error.hpp"
#include "fuzz_util.hpp"

namespace {

void use(const xseq::ParallelText& text) {
  using namespace xseq;
  for (const char* name : {"char", "space"}) {
    const auto tokenizer = make_tokenizer(name);
    VocabBuilder builder;
    count_tokens(text, *tokenizer, Side::both, builder);
    const Vocab vocab = builder.build(1, 0);
    // What a checkpoint stores must come back the same.
    if (Vocab::deserialize(vocab.serialize()).tokens() != vocab.tokens())
      xseq::fuzz::invariant_failed("a vocabulary built from accepted text does not round-trip");
    EncodeOptions options;
    options.max_len = 64;
    EncodeReport report;
    try {
      encode_corpus(text, *tokenizer, *tokenizer, vocab, vocab, options, &report);
    } catch (const Error& e) {  // every pair longer than max_len
      xseq::fuzz::rejected(e);
    }
    corpus_stats(text, *tokenizer, &text).to_text();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace xseq;
  const std::string_view input = fuzz::as_text(data, size);
  std::string_view source, target;
  try {
    if (fuzz::split_at(input, "\n#xseq-fuzz-split\n", source, target)) {
      const fuzz::MemFile src("src", source), tgt("tgt", target);
      use(read_parallel(src.path(), tgt.path()));
    } else {
      const fuzz::MemFile tsv("tsv", input);
      use(read_tsv(tsv.path()));
    }
  } catch (const Error& e) {
    fuzz::rejected(e);
  }
  return 0;
}
