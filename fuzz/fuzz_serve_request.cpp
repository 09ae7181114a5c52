// The JSON request parsers of xseq serve (serve/protocol.hpp): any body either
// parses into a request within the limits or is refused with a 4xx RequestError
// whose JSON body is valid; never a crash or an exception. The first byte picks
// the endpoint (even: /v1/translate, odd: /v1/score).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "serve/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace xseq::serve;
  if (size == 0) return 0;
  const bool score = data[0] % 2 == 1;
  const std::string body(xseq::fuzz::as_text(data + 1, size - 1));
  Limits limits;
  limits.max_chars = 64;
  limits.max_texts = 8;
  RequestError error;
  bool ok = false;
  if (score) {
    ScoreRequest r;
    ok = parse_score_request(body, limits, r, error);
    if (ok && (r.sources.size() != r.targets.size() || std::int64_t(r.sources.size()) > limits.max_texts))
      xseq::fuzz::invariant_failed("a score request beyond its limits was accepted");
  } else {
    TranslateRequest r;
    ok = parse_translate_request(body, limits, r, error);
    if (ok) {
      if (r.texts.empty() || std::int64_t(r.texts.size()) > limits.max_texts)
        xseq::fuzz::invariant_failed("a translate request without texts or beyond max_texts was accepted");
      for (const auto& t : r.texts)
        if (std::int64_t(t.size()) > limits.max_chars) xseq::fuzz::invariant_failed("a text beyond max_chars was accepted");
      xseq::SearchOptions search;
      RequestError search_error;
      if (!apply_search(r, search, search_error) && search_error.status != 400)
        xseq::fuzz::invariant_failed("a bad search option is not a 400");
    }
  }
  if (!ok) {
    if (error.status < 400 || error.status > 499 || error.code.empty() || error.message.empty())
      xseq::fuzz::invariant_failed("a refusal without a 4xx status, code and message");
    if (nlohmann::json::parse(error_body(error), nullptr, false).is_discarded())
      xseq::fuzz::invariant_failed("an error body that is not JSON: " + error_body(error));
  }
  return 0;
}
