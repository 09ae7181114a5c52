// The TOML config parser (config/config.hpp parse_config), with optional
// `--set` overrides: lines after a "\n#overrides\n" line are passed as
// "section.key=value" overrides. A config that parses must round-trip:
// checkpoints store to_toml() and evaluation parses it again.
#include <cstdint>
#include <string>
#include <vector>

#include "framework/error.hpp"
#include "fuzz_util.hpp"
#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace xseq;
  const std::string_view input = fuzz::as_text(data, size);
  std::string_view text = input, rest;
  std::vector<std::string> overrides;
  if (fuzz::split_at(input, "\n#overrides\n", text, rest)) {
    while (!rest.empty()) {
      const std::size_t eol = rest.find('\n');
      overrides.emplace_back(rest.substr(0, eol));
      rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    }
  }
  Config config;
  try {
    config = parse_config(std::string(text), "fuzz.toml", overrides);
  } catch (const Error& e) {
    fuzz::rejected(e);
    return 0;  // rejected with a message: the expected outcome for bad input
  }
  const std::string toml = config.to_toml();
  try {
    const Config again = parse_config(toml, "fuzz.toml:to_toml");
    if (again.to_toml() != toml) fuzz::invariant_failed("to_toml() changes when parsed again:\n" + toml);
  } catch (const Error& e) {
    fuzz::invariant_failed(std::string("to_toml() of an accepted config does not parse: ") + e.what() + "\n" + toml);
  }
  return 0;
}
