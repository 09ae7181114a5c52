// The JSON protocol of `xseq serve` (docs/serve.md): parsing and checking request
// bodies, and writing answers and error bodies. No HTTP and no model here, so
// that the parsers can be fuzzed alone (fuzz/fuzz_serve_request.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "decode/translator.hpp"

namespace xseq::serve {

/// What a request may ask for, checked before any work (limits of ServeOptions).
struct Limits {
  std::int64_t max_chars = 10000;  ///< per text, in bytes of UTF-8
  std::int64_t max_texts = 1024;   ///< per request
  std::int64_t max_timeout_ms = 600000;
};

/// A 4xx answer: the HTTP status, a machine-readable code, the message, and the
/// field (or limit) it is about.
struct RequestError {
  int status = 400;
  std::string code;     ///< "bad_json", "bad_field", "unknown_field", "too_large", ...
  std::string message;
  std::string field;    ///< the JSON field at fault ("texts[3]"), or ""
  std::string limit;    ///< the limit exceeded ("max_chars"), or ""
};

/// POST /v1/translate: {"text": "..."} or {"texts": [...]} and optional model,
/// beam, n_best, alpha, max_len_ratio, max_len_extra, timeout_ms.
struct TranslateRequest {
  std::string model;               ///< "" = the only (or "default") model
  std::vector<std::string> texts;
  bool single = false;             ///< sent as "text"
  /// Search options the request sets (the rest come from the model's defaults).
  std::optional<std::int64_t> beam, n_best, max_len_extra;
  std::optional<double> alpha, max_len_ratio;
  std::int64_t timeout_ms = 0;     ///< 0 = the server's default
};

/// POST /v1/score: {"pairs": [{"source": "...", "target": "..."}, ...]} and optional model, timeout_ms.
struct ScoreRequest {
  std::string model;
  std::vector<std::string> sources, targets;
  std::int64_t timeout_ms = 0;
};

/// Parses and checks a body; on a problem returns false and fills `error` (never throws).
bool parse_translate_request(const std::string& body, const Limits& limits, TranslateRequest& out,
                             RequestError& error);
bool parse_score_request(const std::string& body, const Limits& limits, ScoreRequest& out, RequestError& error);

/// The request's search options over the model's: the result is validated
/// (SearchOptions::validate); an OptionError becomes a 400 naming the field.
bool apply_search(const TranslateRequest& request, SearchOptions& search, RequestError& error);

/// {"model": ..., "translations": [{"text", "tokens", "score", "n_best": [...]}]}
std::string translate_response(const std::string& model, const std::vector<Translation>& translations);
/// {"model": ..., "scores": [{"tokens", "token_log_probs", "log_prob"}]}
std::string score_response(const std::string& model, const std::vector<TargetScore>& scores);
/// {"error": {"code", "message", "field" or "limit"}}
std::string error_body(const std::string& code, const std::string& message, const std::string& field = "",
                       const std::string& limit = "");
std::string error_body(const RequestError& error);

}  // namespace xseq::serve
