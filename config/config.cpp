#include "config/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <type_traits>

#include "datasets/tasks.hpp"
#include "framework/error.hpp"
#include "framework/memory.hpp"
#include "framework/spelling.hpp"

namespace xseq {
namespace {

enum class Kind { integer, number, boolean, string };
const char* kind_name(Kind k) {
  switch (k) {
    case Kind::integer: return "an integer";
    case Kind::number: return "a number";
    case Kind::boolean: return "a boolean";
    case Kind::string: return "a string";
  }
  return "?";
}

struct Value {  // a parsed scalar
  Kind kind;
  std::int64_t i = 0;
  double d = 0;
  bool b = false;
  std::string s;
};

// One key of the schema: how to set it, read it back, check it, document it.
struct Field {
  std::string section, key;
  Kind kind;
  std::string doc;
  std::function<void(Config&, const Value&)> set;
  std::function<std::string(const Config&)> get;  // as TOML
  std::function<std::string(const Value&)> check;  // "" when valid, else "is too large (at most 64)" etc.
  std::string range;  // the accepted values, for the docs
  std::string name() const { return section + "." + key; }
};

// A TOML basic string: quotes, backslashes and control characters escaped, so
// the text parses back to the same bytes (UTF-8 passes through).
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += char(c);
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7f) {
      char code[8];
      std::snprintf(code, sizeof code, "\\u%04X", unsigned(c));
      out += code;
    } else out += char(c);
  }
  return out + "\"";
}

// A bare TOML key when it can be one, else a quoted key.
std::string key_text(const std::string& key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return bare ? key : quote(key);
}

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : -1;
    if (n < 0 || i + std::size_t(n) >= s.size()) return false;
    std::uint32_t cp = n == 0 ? c : c & (0x3f >> n);
    for (int k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + std::size_t(k)]);
      if ((cc >> 6) != 0x2) return false;
      cp = cp << 6 | (cc & 0x3f);
    }
    static const std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += std::size_t(n) + 1;
  }
  return true;
}

// The shortest "%.Ng" text (N from `digits` up) that reads back to exactly `v`.
template <class T>
std::string number_text(T v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  const bool is_float = std::is_same<T, float>::value;
  char text[64];
  for (int digits = is_float ? 6 : 15; digits <= std::numeric_limits<T>::max_digits10; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, double(v));
    if ((is_float ? T(std::strtof(text, nullptr)) : T(std::strtod(text, nullptr))) == v) break;
  }
  std::string s = text;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// A layer option as TOML: integral numbers print as integers (`heads = 2`).
std::string option_text(const LayerOption& o) {
  if (o.kind() == LayerOption::Kind::boolean) return o.boolean() ? "true" : "false";
  if (o.kind() == LayerOption::Kind::string) return quote(o.text());
  const double v = o.number();
  if (std::abs(v) < 1e15 && v == std::trunc(v)) return std::to_string(static_cast<std::int64_t>(v));
  return number_text(v);
}

// The accepted integers; limits sit far above real use and keep sizes and loops bounded.
struct IntRange {
  std::int64_t lo, hi;
};
constexpr std::int64_t kNoLimit = std::numeric_limits<std::int64_t>::max();
IntRange between(std::int64_t lo, std::int64_t hi) { return {lo, hi}; }
IntRange at_least(std::int64_t lo) { return {lo, kNoLimit}; }

struct NumRange {
  double lo, hi;
  bool lo_open;
};
NumRange in_range(double lo, double hi, bool lo_open) { return {lo, hi, lo_open}; }

// Field builders: int_field(section, key, member, doc, range) etc.
template <class Sec>
Field int_field(const char* section, const char* key, Sec Config::*sec, std::int64_t Sec::*m, std::string doc,
                IntRange r) {
  const std::string lo = std::to_string(r.lo), hi = std::to_string(r.hi);
  return {section, key, Kind::integer, std::move(doc), [=](Config& c, const Value& v) { (c.*sec).*m = v.i; },
          [=](const Config& c) { return std::to_string((c.*sec).*m); },
          [=](const Value& v) {
            if (v.i < r.lo) return "is too small (at least " + lo + ")";
            if (v.i > r.hi) return "is too large (at most " + hi + ")";
            return std::string();
          },
          r.hi == kNoLimit ? lo + " or more" : lo + " to " + hi};
}
template <class Sec, class T>
Field num_field(const char* section, const char* key, Sec Config::*sec, T Sec::*m, std::string doc, NumRange r) {
  std::ostringstream out;
  out << (r.lo_open ? "> " : ">= ") << r.lo << " and <= " << r.hi;
  const std::string expected = out.str();
  return {section, key, Kind::number, std::move(doc), [=](Config& c, const Value& v) { (c.*sec).*m = static_cast<T>(v.d); },
          [=](const Config& c) { return number_text((c.*sec).*m); },
          [=](const Value& v) {
            const bool ok = (r.lo_open ? v.d > r.lo : v.d >= r.lo) && v.d <= r.hi && std::isfinite(v.d);
            return ok ? std::string() : "is out of range (expected " + expected + ")";
          },
          expected};
}
template <class Sec>
Field bool_field(const char* section, const char* key, Sec Config::*sec, bool Sec::*m, std::string doc) {
  return {section, key, Kind::boolean, std::move(doc), [=](Config& c, const Value& v) { (c.*sec).*m = v.b; },
          [=](const Config& c) { return std::string((c.*sec).*m ? "true" : "false"); }, [](const Value&) { return std::string(); },
          "true, false"};
}
// data.task's choices: "" (files) or a task name from datasets/tasks.cpp's one list.
std::vector<std::string> no_task_or_a_task() {
  std::vector<std::string> names = task_names();
  names.insert(names.begin(), "");
  return names;
}

template <class Sec>
Field str_field(const char* section, const char* key, Sec Config::*sec, std::string Sec::*m, std::string doc,
                std::vector<std::string> choices = {}) {
  std::string list;
  for (const auto& ch : choices) list += (list.empty() ? "" : ", ") + (ch.empty() ? "\"\"" : ch);
  return {section, key, Kind::string, std::move(doc), [=](Config& c, const Value& v) { (c.*sec).*m = v.s; },
          [=](const Config& c) { return quote((c.*sec).*m); },
          [=](const Value& v) {
            if (choices.empty() || std::find(choices.begin(), choices.end(), v.s) != choices.end()) return std::string();
            return "is out of range (expected one of " + list + ")";
          },
          choices.empty() ? "text" : list};
}

// A string naming something registered (model.attention): checked against the
// registry when a config is read, so names user code registers are accepted too;
// the docs list what xseq ships.
template <class Sec>
Field registered_field(const char* section, const char* key, Sec Config::*sec, std::string Sec::*m, std::string doc,
                       std::vector<std::string> (*names)(), std::vector<std::string> (*builtin)()) {
  Field f = str_field(section, key, sec, m, std::move(doc));
  f.check = [names](const Value& v) {
    const std::vector<std::string> known = names();
    if (std::find(known.begin(), known.end(), v.s) != known.end()) return std::string();
    std::string list;
    for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
    return "is not registered (registered: " + list + ")";
  };
  f.range.clear();
  for (const auto& n : builtin()) f.range += (f.range.empty() ? "" : ", ") + n;
  f.range += " or a registered name";
  return f;
}

// Upper limits: far above any real run, low enough that sizes, loops and the
// memory estimate stay finite (validate_resources then checks the machine).
constexpr std::int64_t kMaxWidth = 65536, kMaxHeads = 1024, kMaxLayers = 64, kMaxPositions = 1000000;
constexpr std::int64_t kMaxPairs = 10000000, kMaxTaskLen = 10000, kMaxLen = 100000, kMaxVocab = 1000000;
constexpr std::int64_t kMaxBatch = 1000000, kMaxBatchTokens = 100000000, kMaxAccumulate = 65536;
constexpr std::int64_t kMaxSteps = 1000000000000, kMaxCount = 1000000000, kMaxThreads = 1024;

const std::vector<Field>& schema() {
  using D = DataConfig;
  using M = ModelConfig;
  using T = TrainConfig;
  static const std::vector<Field> fields = {
      str_field("data", "train", &Config::data, &D::train, "training corpus: a TSV file or `a.src,a.tgt` (or use `task`)"),
      str_field("data", "valid", &Config::data, &D::valid, "validation corpus (same forms)"),
      str_field("data", "test", &Config::data, &D::test, "test corpus (same forms)"),
      str_field("data", "task", &Config::data, &D::task, "a synthetic task instead of files", no_task_or_a_task()),
      int_field("data", "task_train", &Config::data, &D::task_train, "task: training pairs", between(1, kMaxPairs)),
      int_field("data", "task_valid", &Config::data, &D::task_valid, "task: validation pairs", between(1, kMaxPairs)),
      int_field("data", "task_test", &Config::data, &D::task_test, "task: test pairs", between(1, kMaxPairs)),
      int_field("data", "task_min_len", &Config::data, &D::task_min_len, "copy/reverse/sort: shortest sequence",
                between(1, kMaxTaskLen)),
      int_field("data", "task_max_len", &Config::data, &D::task_max_len, "copy/reverse/sort: longest sequence",
                between(1, kMaxTaskLen)),
      int_field("data", "task_max_digits", &Config::data, &D::task_max_digits, "addition: digits per operand",
                between(1, 18)),
      str_field("data", "task_alphabet", &Config::data, &D::task_alphabet, "copy/reverse/sort: symbols"),
      int_field("data", "task_seed", &Config::data, &D::task_seed, "task: generator seed", at_least(0)),
      str_field("data", "tokenizer", &Config::data, &D::tokenizer, "char, space or sentencepiece",
                {"char", "space", "sentencepiece"}),
      str_field("data", "sentencepiece_model", &Config::data, &D::sentencepiece_model,
                "sentencepiece: load this .model file (or `src.model,tgt.model`, one per side: `xseq data spm`) "
                "instead of training one on the training data"),
      str_field("data", "sentencepiece_type", &Config::data, &D::sentencepiece_type, "sentencepiece: unigram or bpe",
                {"unigram", "bpe"}),
      int_field("data", "vocab_size", &Config::data, &D::vocab_size,
                "largest vocabulary, specials included (0 = every token); sentencepiece: pieces to train (0 = 1000)",
                between(0, kMaxVocab)),
      int_field("data", "min_freq", &Config::data, &D::min_freq, "keep tokens seen at least this often",
                between(1, kMaxCount)),
      int_field("data", "max_len", &Config::data, &D::max_len, "longest side in tokens (0 = no limit)",
                between(0, kMaxLen)),
      str_field("data", "over_long", &Config::data, &D::over_long, "pairs over max_len: drop (counted) or reject (error)",
                {"drop", "reject"}),
      bool_field("data", "shared_vocab", &Config::data, &D::shared_vocab, "one vocabulary for source and target"),
      str_field("data", "source_vocab", &Config::data, &D::source_vocab,
                "a vocabulary file (`xseq data vocab`) for the source side instead of building one (with "
                "shared_vocab: for both sides unless target_vocab is set)"),
      str_field("data", "target_vocab", &Config::data, &D::target_vocab,
                "a vocabulary file for the target side (needs source_vocab)"),

      registered_field("model", "type", &Config::model, &M::type,
                       "the model (register_model adds more; a plugin's take [model.options])", registered_models,
                       builtin_models),
      int_field("model", "d_model", &Config::model, &M::d_model, "transformer: model width", between(1, kMaxWidth)),
      int_field("model", "heads", &Config::model, &M::heads, "transformer: attention heads", between(1, kMaxHeads)),
      int_field("model", "ff_dim", &Config::model, &M::ff_dim, "transformer: feed-forward width",
                between(1, 4 * kMaxWidth)),
      int_field("model", "encoder_layers", &Config::model, &M::encoder_layers, "encoder layers (both types)",
                between(1, kMaxLayers)),
      int_field("model", "decoder_layers", &Config::model, &M::decoder_layers, "decoder layers (both types)",
                between(1, kMaxLayers)),
      num_field("model", "dropout", &Config::model, &M::dropout, "dropout probability", in_range(0.0, 0.95, false)),
      str_field("model", "positions", &Config::model, &M::positions, "transformer: sinusoidal or learned",
                {"sinusoidal", "learned"}),
      int_field("model", "max_positions", &Config::model, &M::max_positions, "transformer: learned position table size",
                between(1, kMaxPositions)),
      bool_field("model", "share_embeddings", &Config::model, &M::share_embeddings,
                 "transformer: one embedding for both sides (needs data.shared_vocab)"),
      bool_field("model", "tie_output", &Config::model, &M::tie_output,
                 "transformer: output projection = target embedding transposed"),
      bool_field("model", "source_eos", &Config::model, &M::source_eos,
                 "transformer, rnn_attention: append </s> to every source sentence (the decoder can align its own </s> with it)"),
      bool_field("model", "norm_first", &Config::model, &M::norm_first, "transformer: pre-norm (false = post-norm)"),
      str_field("model", "activation", &Config::model, &M::activation, "transformer: feed-forward activation",
                {"relu", "gelu"}),
      int_field("model", "embed_dim", &Config::model, &M::embed_dim, "rnn_attention: embedding size",
                between(1, kMaxWidth)),
      int_field("model", "hidden", &Config::model, &M::hidden, "rnn_attention: recurrent state size",
                between(1, kMaxWidth)),
      str_field("model", "cell", &Config::model, &M::cell, "rnn_attention: gru or lstm", {"gru", "lstm"}),
      registered_field("model", "attention", &Config::model, &M::attention,
                       "rnn_attention: decoder attention (register_decoder_attention adds more)",
                       registered_decoder_attentions, builtin_decoder_attentions),
      bool_field("model", "bidirectional", &Config::model, &M::bidirectional, "rnn_attention: bidirectional encoder"),
      bool_field("model", "input_feeding", &Config::model, &M::input_feeding,
                 "rnn_attention: feed the previous attentional vector to the decoder"),

      int_field("train", "batch_size", &Config::train, &T::batch_size, "sentences per batch", between(1, kMaxBatch)),
      int_field("train", "batch_tokens", &Config::train, &T::batch_tokens,
                "padded tokens per batch instead of batch_size (0 = off)", between(0, kMaxBatchTokens)),
      str_field("train", "optimizer", &Config::train, &T::optimizer, "sgd (with momentum), adam or adamw",
                {"sgd", "adam", "adamw"}),
      num_field("train", "lr", &Config::train, &T::lr, "learning rate (the peak, for schedules)", in_range(0.0, 100.0, true)),
      num_field("train", "momentum", &Config::train, &T::momentum, "sgd momentum", in_range(0.0, 1.0, false)),
      num_field("train", "weight_decay", &Config::train, &T::weight_decay, "L2 (sgd, adam) or decoupled (adamw) decay",
                in_range(0.0, 1.0, false)),
      num_field("train", "beta1", &Config::train, &T::beta1, "adam beta1", in_range(0.0, 1.0, false)),
      num_field("train", "beta2", &Config::train, &T::beta2, "adam beta2", in_range(0.0, 1.0, false)),
      num_field("train", "eps", &Config::train, &T::eps, "adam epsilon", in_range(0.0, 1.0, true)),
      str_field("train", "schedule", &Config::train, &T::schedule,
                "constant, noam (warmup + inverse sqrt), cosine, or plateau (lowered when validation stalls)",
                {"constant", "noam", "cosine", "plateau"}),
      int_field("train", "warmup_steps", &Config::train, &T::warmup_steps, "linear warmup steps",
                between(0, kMaxSteps)),
      int_field("train", "max_steps", &Config::train, &T::max_steps, "stop after this many updates",
                between(1, kMaxSteps)),
      int_field("train", "max_epochs", &Config::train, &T::max_epochs, "stop after this many epochs, the last step validated (0 = no limit)",
                between(0, kMaxCount)),
      num_field("train", "clip_norm", &Config::train, &T::clip_norm, "global gradient-norm clipping (0 = off)",
                in_range(0.0, 1e9, false)),
      num_field("train", "label_smoothing", &Config::train, &T::label_smoothing, "label smoothing epsilon",
                in_range(0.0, 0.99, false)),
      int_field("train", "accumulate", &Config::train, &T::accumulate, "batches per update (gradient accumulation)",
                between(1, kMaxAccumulate)),
      int_field("train", "valid_every", &Config::train, &T::valid_every, "validate every N updates",
                between(1, kMaxSteps)),
      int_field("train", "checkpoint_every", &Config::train, &T::checkpoint_every, "write last.h5 every N updates",
                between(1, kMaxSteps)),
      int_field("train", "log_every", &Config::train, &T::log_every, "log a line every N updates",
                between(1, kMaxSteps)),
      int_field("train", "patience", &Config::train, &T::patience,
                "stop after N validations without improvement (0 = never)", between(0, kMaxCount)),
      str_field("train", "metric", &Config::train, &T::metric,
                "what picks best.h5 and early stopping: loss, token_accuracy, exact_match, bleu or chrf",
                {"loss", "token_accuracy", "exact_match", "bleu", "chrf"}),
      int_field("train", "seed", &Config::train, &T::seed, "weights, dropout and batch order", at_least(0)),
      int_field("train", "threads", &Config::train, &T::threads, "threads for kernels and BLAS (0 = all cores)",
                between(0, kMaxThreads)),
      str_field("train", "precision", &Config::train, &T::precision,
                "matrix products of training: fp32, bf16 (needs avx512_bf16 or AMX; fp32 master weights, "
                "softmax, layer norm and loss) or auto (bf16 where the CPU has it)",
                {"fp32", "bf16", "auto"}),
      str_field("train", "out_dir", &Config::train, &T::out_dir, "run directory (log.jsonl, last.h5, best.h5, config.toml)"),
      str_field("train", "init_from", &Config::train, &T::init_from,
                "fine-tune from this checkpoint's weights, like --init-from (relative to the working directory)"),
      int_field("train", "valid_max_sentences", &Config::train, &T::valid_max_sentences,
                "greedy-decode at most this many validation sentences (0 = all)", between(0, kMaxCount)),
      num_field("train", "max_loss_ratio", &Config::train, &T::max_loss_ratio,
                "stop as diverged when an update's loss exceeds this many times the running average "
                "and the loss of a uniform guess, ln(target vocabulary) (0 = off)",
                in_range(0.0, 1e9, false)),
      int_field("train", "keep_checkpoints", &Config::train, &T::keep_checkpoints,
                "also write ckpt-<step>.h5 every checkpoint_every updates and keep the newest N (0 = none)",
                between(0, 1000)),
      int_field("train", "average_last", &Config::train, &T::average_last,
                "at the end, average the newest N ckpt-<step>.h5 into averaged.h5 and test it (0 = off; "
                "needs keep_checkpoints >= N)",
                between(0, 1000)),
      num_field("train", "ema_decay", &Config::train, &T::ema_decay,
                "exponential moving average of the weights, used for validation, best.h5 and the test "
                "(0 = off; e.g. 0.999)",
                in_range(0.0, 0.999999, false)),
      num_field("train", "max_minutes", &Config::train, &T::max_minutes,
                "stop after this many minutes of training as at max_steps: the last step validated, last.h5 "
                "saved, best.h5 tested, averaged.h5 written (0 = no time limit; like fairseq's --stop-time-hours)",
                in_range(0.0, 1e7, false)),
      num_field("train", "plateau_factor", &Config::train, &T::plateau_factor,
                "schedule plateau: multiply the rate by this after plateau_patience bad validations",
                in_range(0.0, 0.999, true)),
      int_field("train", "plateau_patience", &Config::train, &T::plateau_patience,
                "schedule plateau: validations without improvement of train.metric before lowering the rate",
                between(1, kMaxCount)),
  };
  return fields;
}

std::string closest_key(const std::string& name) {
  std::string best;
  std::size_t best_d = 1000;
  for (const auto& f : schema()) {
    const std::size_t d = spelling_distance(name, f.name());
    if (d < best_d) best_d = d, best = f.name();
  }
  for (const char* extra : {"model.encoder_extra", "model.decoder_extra", "model.options"}) {
    const std::size_t d = spelling_distance(name, extra);
    if (d < best_d) best_d = d, best = extra;
  }
  return best;
}

std::string where(const std::string& origin, const toml::source_region& src) {
  std::ostringstream out;
  out << origin;
  if (src.begin.line > 0) out << ":" << src.begin.line << ":" << src.begin.column;
  return out.str();
}

Value to_value(const toml::node& node, Kind want, const std::string& at, const std::string& name) {
  Value v;
  v.kind = want;
  if (want == Kind::integer && node.is_integer()) v.i = node.as_integer()->get();
  else if (want == Kind::number && (node.is_floating_point() || node.is_integer()))
    v.d = node.is_integer() ? double(node.as_integer()->get()) : node.as_floating_point()->get();
  else if (want == Kind::boolean && node.is_boolean()) v.b = node.as_boolean()->get();
  else if (want == Kind::string && node.is_string()) v.s = node.as_string()->get();
  else {
    const char* got = node.is_integer() ? "an integer" : node.is_floating_point() ? "a float" : node.is_boolean() ? "a boolean"
                      : node.is_string() ? "a string" : node.is_table() ? "a table" : node.is_array() ? "an array" : "something else";
    XSEQ_CHECK_AS(ConfigError, false, at, ": ", name, ": expected ", kind_name(want), ", got ", got);
  }
  return v;
}

const Field* find_field(const std::string& section, const std::string& key) {
  for (const auto& f : schema())
    if (f.section == section && f.key == key) return &f;
  return nullptr;
}

void apply(Config& c, const Field& f, const toml::node& node, const std::string& at) {
  const Value v = to_value(node, f.kind, at, f.name());
  // The resolved config must parse back, and TOML text is UTF-8 (only --set can bring other bytes).
  XSEQ_CHECK_AS(ConfigError, f.kind != Kind::string || valid_utf8(v.s), at, ": ", f.name(), " is not valid UTF-8 text");
  const std::string problem = f.check(v);
  if (problem.empty()) return f.set(c, v);
  std::ostringstream shown;
  if (node.is_string()) shown << quote(node.as_string()->get());
  else node.visit([&](auto&& n) { shown << n; });
  XSEQ_CHECK_AS(ConfigError, false, at, ": ", f.name(), " = ", shown.str(), " ", problem);
}

// A layer's or a model type's option: a number, a boolean or a string.
LayerOption read_option(const toml::node& v, const std::string& at, const std::string& name) {
  if (v.is_boolean()) return v.as_boolean()->get();
  if (v.is_string()) {
    XSEQ_CHECK_AS(ConfigError, valid_utf8(v.as_string()->get()), at, ": ", name, " is not valid UTF-8 text");
    return v.as_string()->get();
  }
  XSEQ_CHECK_AS(ConfigError, v.is_integer() || v.is_floating_point(), at, ": ", name, ": options must be numbers, booleans or strings");
  return v.is_integer() ? double(v.as_integer()->get()) : v.as_floating_point()->get();
}

// The layer lists: model.encoder_extra, model.decoder_extra.
std::vector<LayerArgs>* extra_layers(Config& c, const std::string& name) {
  if (name == "model.encoder_extra") return &c.model.encoder_extra;
  if (name == "model.decoder_extra") return &c.model.decoder_extra;
  return nullptr;
}

// One [[model.encoder_extra]] / [[model.decoder_extra]] table: `type` and the layer's typed options.
LayerArgs read_extra_layer(const toml::node& item, const std::string& origin, const std::string& part) {
  LayerArgs args;
  XSEQ_CHECK_AS(ConfigError, item.is_table(), where(origin, item.source()), ": ", part, " must hold tables");
  for (const auto& [k, v] : *item.as_table()) {
    const std::string key(k.str());
    const std::string at = where(origin, v.source());
    if (key == "type") {
      XSEQ_CHECK_AS(ConfigError, v.is_string(), at, ": ", part, ".type: expected a string");
      args.type = v.as_string()->get();
      check_layer_type(args.type, at + ": " + part + ".type");
    } else {
      args.options[key] = read_option(v, at, part + "." + key);
    }
  }
  XSEQ_CHECK_AS(ConfigError, !args.type.empty(), where(origin, item.source()), ": ", part,
             " needs a type (a registered layer name)");
  return args;
}

void read_extra_layers(std::vector<LayerArgs>& out, const std::string& part, const toml::node& node,
                       const std::string& origin) {
  const std::string at = where(origin, node.source());
  XSEQ_CHECK_AS(ConfigError, node.is_array_of_tables(), at, ": ", part, " must be an array of tables ([[", part, "]])");
  XSEQ_CHECK_AS(ConfigError, node.as_array()->size() <= std::size_t(kMaxLayers), at, ": ", part, " has ", node.as_array()->size(),
             " layers (at most ", kMaxLayers, ")");
  out.clear();
  for (const auto& item : *node.as_array()) out.push_back(read_extra_layer(item, origin, part));
}

// [model.options]: a registered model type's own keys (make_model checks them).
void read_model_options(Config& c, const toml::node& node, const std::string& origin) {
  XSEQ_CHECK_AS(ConfigError, node.is_table(), where(origin, node.source()), ": model.options must be a table ([model.options])");
  for (const auto& [k, v] : *node.as_table())
    c.model.options.options[std::string(k.str())] = read_option(v, where(origin, v.source()), "model.options." + std::string(k.str()));
}

// --set 'model.encoder_extra=[{type = "highway", gate_bias = -1.0}]': the layers as
// an array of TOML inline tables (replacing the config's; [] removes them).
void override_extra_layers(std::vector<LayerArgs>& out, const std::string& part, const std::string& value,
                           const std::string& at) {
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + value, at);
  } catch (const toml::parse_error& e) {
    XSEQ_CHECK_AS(ConfigError, false, at, ": expected an array of inline tables, e.g. ", part, "=[{type = \"highway\"}] (",
               e.description(), ")");
  }
  const toml::node& node = *parsed.get("v");
  if (node.is_array() && node.as_array()->empty()) {
    out.clear();
    return;
  }
  read_extra_layers(out, part, node, at);
}

// --set model.options.KEY=VALUE: one option of the model type (a bare word is a string).
void override_model_option(Config& c, const std::string& key, const std::string& value, const std::string& at) {
  XSEQ_CHECK_AS(ConfigError, !key.empty(), at, ": expected model.options.KEY=VALUE");
  XSEQ_CHECK_AS(ConfigError, valid_utf8(key), at, ": model.options.", key, " is not valid UTF-8 text");
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    parsed = toml::table{{"v", value}};
  }
  if (parsed.size() != 1) parsed = toml::table{{"v", value}};
  c.model.options.options[key] = read_option(*parsed.get("v"), at, "model.options." + key);
}

// plugins = [...]: loaded before anything else is read. Relative paths are taken
// from the working directory, like every path of a config (docs/config.md,
// "Paths"); a plugin whose file name is loaded already (--plugin, a checkpoint's
// record) is not loaded twice.
void load_config_plugins(Config& c, const toml::table& root, const std::string& origin) {
  const toml::node* node = root.get("plugins");
  if (!node) return;
  const std::string at = where(origin, node->source());
  XSEQ_CHECK_AS(ConfigError, node->is_array(), at, ": plugins must be an array of file names, e.g. plugins = [\"libglu.so\"]");
  for (const auto& item : *node->as_array()) {
    XSEQ_CHECK_AS(ConfigError, item.is_string(), where(origin, item.source()), ": plugins: expected a file name (a string)");
    std::string name = item.as_string()->get();
    const std::string file_name = std::filesystem::path(name).filename().string();
    bool loaded = false;
    for (const auto& p : loaded_plugins())
      if (p.file_name == file_name) loaded = true, name = p.path;  // the resolved config names what was loaded
    if (!loaded) {
      try {
        name = load_plugin(name).path;
      } catch (const Error& e) {
        XSEQ_CHECK_AS(ConfigError, false, where(origin, item.source()), ": ", e.what());
      }
    }
    c.plugins.push_back(name);
  }
}

void apply_table(Config& c, const toml::table& root, const std::string& origin) {
  for (const auto& [sk, section] : root) {
    const std::string sname(sk.str());
    const std::string at = where(origin, section.source());
    if (sname == "plugins") continue;  // read first, by load_config_plugins
    XSEQ_CHECK_AS(ConfigError, sname == "data" || sname == "model" || sname == "train", at, ": unknown section [", sname,
               "] (expected plugins = [...], [data], [model] or [train])");
    XSEQ_CHECK_AS(ConfigError, section.is_table(), at, ": ", sname, " must be a table ([", sname, "])");
    for (const auto& [k, node] : *section.as_table()) {
      const std::string key(k.str()), name = sname + "." + key;
      if (auto* layers = extra_layers(c, name)) {
        read_extra_layers(*layers, name, node, origin);
        continue;
      }
      if (name == "model.options") {
        read_model_options(c, node, origin);
        continue;
      }
      const Field* f = find_field(sname, key);
      XSEQ_CHECK_AS(ConfigError, f != nullptr, where(origin, k.source()), ": unknown key ", name, " (did you mean ",
                 closest_key(name), "?)");
      apply(c, *f, node, where(origin, node.source()));
    }
  }
}

void check_consistency(const Config& c, const std::string& origin) {
  const bool files = !c.data.train.empty();
  XSEQ_CHECK_AS(ConfigError, files != !c.data.task.empty(), origin, ": set either data.train (with data.valid) or data.task, ",
             files ? "not both" : "one of them");
  if (files) XSEQ_CHECK_AS(ConfigError, !c.data.valid.empty(), origin, ": data.valid is required with data.train");
  XSEQ_CHECK_AS(ConfigError, c.data.task_alphabet.find('\0') == std::string::npos, origin,
             ": data.task_alphabet holds a NUL byte (U+0000), which no token may contain");
  XSEQ_CHECK_AS(ConfigError, c.data.task_min_len <= c.data.task_max_len, origin, ": data.task_min_len (", c.data.task_min_len,
             ") exceeds data.task_max_len (", c.data.task_max_len, ")");
  XSEQ_CHECK_AS(ConfigError, !c.model.share_embeddings || c.data.shared_vocab, origin,
             ": model.share_embeddings = true needs data.shared_vocab = true");
  XSEQ_CHECK_AS(ConfigError, c.model.type != "transformer" || c.model.d_model % c.model.heads == 0, origin, ": model.d_model (",
             c.model.d_model, ") must be divisible by model.heads (", c.model.heads, ")");
  XSEQ_CHECK_AS(ConfigError, c.train.schedule != "noam" || c.train.warmup_steps > 0, origin,
             ": train.schedule = \"noam\" needs train.warmup_steps > 0");
  XSEQ_CHECK_AS(ConfigError, c.train.schedule != "cosine" || c.train.max_steps > c.train.warmup_steps, origin,
             ": train.schedule = \"cosine\" needs train.max_steps > train.warmup_steps");
  XSEQ_CHECK_AS(ConfigError, c.data.target_vocab.empty() || !c.data.source_vocab.empty(), origin,
                ": data.target_vocab needs data.source_vocab");
  XSEQ_CHECK_AS(ConfigError, c.data.shared_vocab || c.data.source_vocab.empty() || !c.data.target_vocab.empty(), origin,
                ": data.shared_vocab = false with data.source_vocab needs data.target_vocab too");
  XSEQ_CHECK_AS(ConfigError, c.data.sentencepiece_model.empty() || c.data.tokenizer == "sentencepiece", origin,
                ": data.sentencepiece_model is set but data.tokenizer is \"", c.data.tokenizer,
                "\" (set data.tokenizer = \"sentencepiece\")");
  XSEQ_CHECK_AS(ConfigError, c.train.average_last <= c.train.keep_checkpoints, origin, ": train.average_last = ",
             c.train.average_last, " needs train.keep_checkpoints >= ", c.train.average_last, " (it is ",
             c.train.keep_checkpoints, "): only kept checkpoints can be averaged");
}

}  // namespace

Config parse_config(const std::string& text, const std::string& origin, const std::vector<std::string>& overrides) {
  Config c;
  c.source = origin;
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    XSEQ_CHECK_AS(ConfigError, false, where(origin, e.source()), ": ", e.description());
  }
  load_config_plugins(c, root, origin);
  apply_table(c, root, origin);
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    const std::string at = "--set " + o;
    XSEQ_CHECK_AS(ConfigError, eq != std::string::npos && o.find('.') < eq, at, ": expected section.key=value");
    const std::string name = o.substr(0, eq), value = o.substr(eq + 1);
    const std::string section = name.substr(0, name.find('.')), key = name.substr(name.find('.') + 1);
    if (auto* layers = extra_layers(c, name)) {
      override_extra_layers(*layers, name, value, at);
      continue;
    }
    if (name.rfind("model.options.", 0) == 0) {
      override_model_option(c, name.substr(14), value, at);
      continue;
    }
    const Field* f = find_field(section, key);
    XSEQ_CHECK_AS(ConfigError, f != nullptr, at, ": unknown key ", name, " (did you mean ", closest_key(name), "?)");
    toml::table parsed;
    try {
      parsed = toml::parse("v = " + value);
    } catch (const toml::parse_error&) {
      parsed = toml::table{{"v", value}};  // a bare word: the string itself
    }
    // A value that is not one TOML value ("1\n[train]...") is a bare word too.
    if (parsed.size() != 1 || (f->kind == Kind::string && !parsed["v"].is_string())) parsed = toml::table{{"v", value}};
    apply(c, *f, *parsed.get("v"), at);
  }
  check_consistency(c, origin);
  return c;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  XSEQ_CHECK_AS(ConfigError, in.good(), "cannot open config file '", path, "'");
  std::ostringstream text;
  text << in.rdbuf();
  Config c = parse_config(text.str(), path, overrides);
  validate_resources(c);
  return c;
}

std::vector<RegisteredName> Config::registered_names() const {
  std::vector<RegisteredName> names{{"model type", model.type}, {"decoder attention", model.attention}};
  for (const auto* layers : {&model.encoder_extra, &model.decoder_extra})
    for (const auto& layer : *layers) names.push_back({"layer type", layer.type});
  return names;
}

std::string Config::to_toml() const {
  std::ostringstream out;
  std::string section;
  if (!plugins.empty()) {
    out << "plugins = [";
    for (std::size_t i = 0; i < plugins.size(); ++i) out << (i ? ", " : "") << quote(plugins[i]);
    out << "]\n\n";
  }
  for (const auto& f : schema()) {
    if (f.section != section) {
      out << (section.empty() ? "" : "\n") << "[" << f.section << "]\n";
      section = f.section;
    }
    out << f.key << " = " << f.get(*this) << "\n";
  }
  for (const char* part : {"model.encoder_extra", "model.decoder_extra"})
    for (const auto& layer : part[6] == 'e' ? model.encoder_extra : model.decoder_extra) {
      out << "\n[[" << part << "]]\ntype = " << quote(layer.type) << "\n";
      for (const auto& [k, v] : layer.options) out << key_text(k) << " = " << option_text(v) << "\n";
    }
  if (!model.options.options.empty()) {
    out << "\n[model.options]\n";
    for (const auto& [k, v] : model.options.options) out << key_text(k) << " = " << option_text(v) << "\n";
  }
  return out.str();
}

std::string config_markdown() {
  std::ostringstream out;
  std::string section;
  const Config defaults;
  for (const auto& f : schema()) {
    if (f.section != section) {
      out << (section.empty() ? "" : "\n") << "### [" << f.section
          << "]\n\n| key | type | default | accepts | meaning |\n|---|---|---|---|---|\n";
      section = f.section;
    }
    const char* type = f.kind == Kind::integer ? "integer" : f.kind == Kind::number ? "float" : f.kind == Kind::boolean ? "bool" : "string";
    std::string def = f.get(defaults);
    if (def == "\"\"") def = "(none)";
    out << "| `" << f.key << "` | " << type << " | `" << def << "` | " << f.range << " | " << f.doc << " |\n";
  }
  return out.str();
}

}  // namespace xseq
