// Vocabulary files (datasets/vocab.hpp): Vocab::load on the input as a file
// and Vocab::deserialize on it as a string (what a checkpoint stores). An
// accepted vocabulary must round-trip through serialize().
#include <cstdint>
#include <string>

#include "datasets/vocab.hpp"
#include "framework/error.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace xseq;
  const std::string text(fuzz::as_text(data, size));
  bool loaded = false, deserialized = false;
  try {
    const fuzz::MemFile file("vocab", text);
    const Vocab v = Vocab::load(file.path());
    loaded = true;
    for (std::int32_t id = 0; id < v.size(); ++id)
      if (v.id(v.token(id)) != id) fuzz::invariant_failed("token " + std::to_string(id) + " maps to another id");
  } catch (const Error& e) {
    fuzz::rejected(e);
  }
  try {
    const Vocab v = Vocab::deserialize(text, "fuzz");
    deserialized = true;
    if (Vocab::deserialize(v.serialize()).tokens() != v.tokens())
      fuzz::invariant_failed("an accepted vocabulary does not round-trip through serialize()");
  } catch (const Error& e) {
    fuzz::rejected(e);
  }
  if (loaded != deserialized) fuzz::invariant_failed("Vocab::load and Vocab::deserialize disagree");
  return 0;
}
