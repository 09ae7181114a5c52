#include "serve/protocol.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

#include "datasets/utf8.hpp"

namespace xseq::serve {
namespace {

using json = nlohmann::json;

bool fail(RequestError& error, int status, const std::string& code, const std::string& message,
          const std::string& field = "", const std::string& limit = "") {
  error = RequestError{status, code, message, field, limit};
  return false;
}

// The body as a JSON object, or a 400.
bool parse_object(const std::string& body, json& out, RequestError& error) {
  out = json::parse(body, nullptr, false);
  if (out.is_discarded()) return fail(error, 400, "bad_json", "the body is not valid JSON");
  if (!out.is_object()) return fail(error, 400, "bad_json", "the body must be a JSON object");
  return true;
}

// A text field: a string of valid UTF-8 without control characters (TAB is
// fine), at most max_chars bytes.
bool read_text(const json& value, const std::string& field, const Limits& limits, std::string& out,
               RequestError& error) {
  if (!value.is_string()) return fail(error, 400, "bad_field", field + " must be a string", field);
  out = value.get<std::string>();
  if (std::int64_t(out.size()) > limits.max_chars)
    return fail(error, 413, "too_large",
                field + " has " + std::to_string(out.size()) + " bytes, more than max_chars " +
                    std::to_string(limits.max_chars),
                field, "max_chars");
  try {
    check_text_line(out, field, 1);
  } catch (const Error& e) {
    return fail(error, 400, "bad_text", field + " is not one line of text (UTF-8, no control characters)", field);
  }
  return true;
}

bool read_int(const json& value, const std::string& field, std::int64_t lo, std::int64_t hi, std::int64_t& out,
              RequestError& error) {
  if (!value.is_number_integer() && !value.is_number_unsigned())
    return fail(error, 400, "bad_field", field + " must be an integer", field);
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > std::uint64_t(hi))
    return fail(error, 400, "bad_field", field + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
                field);
  out = value.get<std::int64_t>();
  if (out < lo || out > hi)
    return fail(error, 400, "bad_field", field + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
                field);
  return true;
}

bool read_number(const json& value, const std::string& field, double& out, RequestError& error) {
  if (!value.is_number()) return fail(error, 400, "bad_field", field + " must be a number", field);
  out = value.get<double>();
  if (!std::isfinite(out)) return fail(error, 400, "bad_field", field + " must be a finite number", field);
  return true;
}

bool read_common(const json& body, const std::string& key, const Limits& limits, std::string& model,
                 std::int64_t& timeout_ms, RequestError& error, bool& handled) {
  handled = true;
  if (key == "model") {
    if (!body[key].is_string()) return fail(error, 400, "bad_field", "model must be a string", "model");
    model = body[key].get<std::string>();
    return true;
  }
  if (key == "timeout_ms") return read_int(body[key], "timeout_ms", 1, limits.max_timeout_ms, timeout_ms, error);
  handled = false;
  return true;
}

}  // namespace

bool parse_translate_request(const std::string& body, const Limits& limits, TranslateRequest& out,
                             RequestError& error) {
  json j;
  if (!parse_object(body, j, error)) return false;
  bool has_text = false, has_texts = false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    bool handled = false;
    if (!read_common(j, key, limits, out.model, out.timeout_ms, error, handled)) return false;
    if (handled) continue;
    if (key == "text") {
      has_text = true;
      out.single = true;
      out.texts.resize(1);
      if (!read_text(*it, "text", limits, out.texts[0], error)) return false;
    } else if (key == "texts") {
      has_texts = true;
      if (!it->is_array()) return fail(error, 400, "bad_field", "texts must be an array of strings", "texts");
      if (std::int64_t(it->size()) > limits.max_texts)
        return fail(error, 413, "too_large",
                    "texts has " + std::to_string(it->size()) + " entries, more than max_texts " +
                        std::to_string(limits.max_texts),
                    "texts", "max_texts");
      out.texts.resize(it->size());
      for (std::size_t i = 0; i < it->size(); ++i)
        if (!read_text((*it)[i], "texts[" + std::to_string(i) + "]", limits, out.texts[i], error)) return false;
    } else if (key == "beam" || key == "n_best" || key == "max_len_extra") {
      std::int64_t v = 0;
      if (!read_int(*it, key, key == "max_len_extra" ? 0 : 1, key == "max_len_extra" ? (1 << 20) : 256, v, error))
        return false;
      (key == "beam" ? out.beam : key == "n_best" ? out.n_best : out.max_len_extra) = v;
    } else if (key == "alpha" || key == "max_len_ratio") {
      double v = 0;
      if (!read_number(*it, key, v, error)) return false;
      (key == "alpha" ? out.alpha : out.max_len_ratio) = v;
    } else {
      return fail(error, 400, "unknown_field",
                  "unknown field '" + key +
                      "' (known: text, texts, model, beam, n_best, alpha, max_len_ratio, max_len_extra, timeout_ms)",
                  key);
    }
  }
  if (has_text == has_texts)
    return fail(error, 400, "bad_field", has_text ? "give either text or texts, not both" : "give text or texts",
                has_text ? "texts" : "text");
  return true;
}

bool parse_score_request(const std::string& body, const Limits& limits, ScoreRequest& out, RequestError& error) {
  json j;
  if (!parse_object(body, j, error)) return false;
  bool has_pairs = false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    bool handled = false;
    if (!read_common(j, key, limits, out.model, out.timeout_ms, error, handled)) return false;
    if (handled) continue;
    if (key != "pairs")
      return fail(error, 400, "unknown_field", "unknown field '" + key + "' (known: pairs, model, timeout_ms)", key);
    has_pairs = true;
    if (!it->is_array()) return fail(error, 400, "bad_field", "pairs must be an array of {source, target}", "pairs");
    if (std::int64_t(it->size()) > limits.max_texts)
      return fail(error, 413, "too_large",
                  "pairs has " + std::to_string(it->size()) + " entries, more than max_texts " +
                      std::to_string(limits.max_texts),
                  "pairs", "max_texts");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& pair = (*it)[i];
      const std::string at = "pairs[" + std::to_string(i) + "]";
      if (!pair.is_object()) return fail(error, 400, "bad_field", at + " must be {\"source\", \"target\"}", at);
      for (auto f = pair.begin(); f != pair.end(); ++f)
        if (f.key() != "source" && f.key() != "target")
          return fail(error, 400, "unknown_field", "unknown field '" + f.key() + "' in " + at, at + "." + f.key());
      if (!pair.contains("source") || !pair.contains("target"))
        return fail(error, 400, "bad_field", at + " needs both source and target", at);
      std::string source, target;
      if (!read_text(pair["source"], at + ".source", limits, source, error) ||
          !read_text(pair["target"], at + ".target", limits, target, error))
        return false;
      out.sources.push_back(std::move(source));
      out.targets.push_back(std::move(target));
    }
  }
  if (!has_pairs) return fail(error, 400, "bad_field", "give pairs", "pairs");
  return true;
}

bool apply_search(const TranslateRequest& r, SearchOptions& s, RequestError& error) {
  if (r.beam) s.beam = *r.beam;
  if (r.n_best) s.n_best = *r.n_best;
  if (r.alpha) s.alpha = *r.alpha;
  if (r.max_len_ratio) s.max_len_ratio = *r.max_len_ratio;
  if (r.max_len_extra) s.max_len_extra = *r.max_len_extra;
  if (r.beam && !r.n_best && s.n_best > s.beam) s.n_best = s.beam;
  try {
    s.validate();
  } catch (const OptionError& e) {
    const std::string message = e.what();
    std::string field = "beam";
    for (const char* f : {"n_best", "alpha", "max_len_ratio", "max_len_extra", "beam"})
      if (message.rfind(f, 0) == 0) {
        field = f;
        break;
      }
    return fail(error, 400, "bad_field", message, field);
  }
  return true;
}

std::string translate_response(const std::string& model, const std::vector<Translation>& translations) {
  json out;
  out["model"] = model;
  json list = json::array();
  for (const Translation& t : translations) {
    json n_best = json::array();
    for (const Translation& h : t.hypotheses)
      n_best.push_back({{"text", h.text}, {"tokens", h.tokens}, {"score", h.score},
                        {"normalized_score", h.normalized_score}});
    list.push_back({{"text", t.text}, {"tokens", t.tokens}, {"score", t.score}, {"n_best", n_best}});
  }
  out["translations"] = std::move(list);
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string score_response(const std::string& model, const std::vector<TargetScore>& scores) {
  json out;
  out["model"] = model;
  json list = json::array();
  for (const TargetScore& s : scores)
    list.push_back({{"tokens", s.tokens}, {"token_log_probs", s.token_log_probs}, {"log_prob", s.log_prob}});
  out["scores"] = std::move(list);
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string error_body(const std::string& code, const std::string& message, const std::string& field,
                       const std::string& limit) {
  json e = {{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  if (!limit.empty()) e["limit"] = limit;
  return json{{"error", e}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string error_body(const RequestError& e) { return error_body(e.code, e.message, e.field, e.limit); }

}  // namespace xseq::serve
