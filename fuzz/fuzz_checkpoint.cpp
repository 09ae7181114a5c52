// Checkpoint loading (framework/checkpoint.hpp, config/prepared_data.hpp) on
// the input written to an in-memory file: open_checkpoint, then each part a
// resume or an evaluation reads (parameters, generator states, optimizer
// state, text pipeline, stored config), each on its own so that one rejected
// part does not hide the others. Seeds: checkpoints saved by fuzz_make_seeds.
#include <cstdint>
#include <string>

#include "framework/checkpoint.hpp"
#include "framework/error.hpp"
#include "fuzz_util.hpp"
#include "tiny_model.hpp"
#include "config/prepared_data.hpp"

namespace {

template <class F>
void attempt(F&& f) {
  try {
    f();
  } catch (const xseq::Error& e) {
    xseq::fuzz::rejected(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace xseq;
  attempt([&] {
    const fuzz::ShmFile bytes("checkpoint.h5", fuzz::as_text(data, size));
    const auto file = open_checkpoint(bytes.path());
    Rng rng(1);
    fuzz::TinyModel model(rng);
    attempt([&] { load_parameters(*file, model); });
    attempt([&] { load_rng_states(*file, model); });
    attempt([&] {
      Adam adam(model.named_parameters(), Adam::Options());
      adam.load_state(*file, "optimizer");
    });
    attempt([&] {
      const TextPipeline pipeline = TextPipeline::load(*file);
      pipeline.tokenizer->encode("héllo 中文 😀");
      pipeline.detokenize({4, 5, 6, Vocab::kEos});
    });
    attempt([&] { parse_config(file->attribute("config"), bytes.path() + ":config"); });
    attempt([&] {
      for (const auto& name : file->datasets()) {  // every dataset, as what it claims to be or not
        attempt([&] { file->read(name); });
        attempt([&] { file->read_string(name); });
      }
    });
  });
  return 0;
}
