// What every xseq subcommand shares: CLI11 (Debian's libcli11-dev) for typed,
// range-checked flags and --help generated from the same definitions, and the
// flags several commands take (--threads, decoding, --set). Included only by
// the command .cpp files in cli/ (CLI11 is a large header, and no library below
// the CLI may depend on it: tests/test_layout.cpp); not installed.
#pragma once

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "decode/decoding.hpp"
#include "decode/translator.hpp"

namespace xseq::cli {

/// A registered subcommand and what runs it once the command line has parsed.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

/// One file per command registers it on the root app (cli/<name>_command.cpp).
Command add_train_command(CLI::App& root);
Command add_config_command(CLI::App& root);
Command add_translate_command(CLI::App& root);
Command add_eval_command(CLI::App& root);
Command add_score_command(CLI::App& root);
Command add_average_command(CLI::App& root);
Command add_quantize_command(CLI::App& root);
Command add_report_command(CLI::App& root);
std::vector<Command> add_data_commands(CLI::App& root);  // data make, data stats
Command add_bench_command(CLI::App& root);
Command add_gradcheck_command(CLI::App& root);
Command add_demo_command(CLI::App& root);
Command add_serve_command(CLI::App& root);
Command add_metrics_command(CLI::App& root);

/// A whole number (not "2.5", not "x"), checked before a range so that the
/// message says what is wrong.
inline const CLI::Validator kInteger(
    [](std::string& text) {
      char* end = nullptr;
      errno = 0;
      std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || !end || *end != '\0') return "'" + text + "' is not an integer";
      if (errno == ERANGE) return "'" + text + "' is too large";
      return std::string();
    },
    "INT");

/// A decimal number (not "0.6x", not "nan", not "1e999").
inline const CLI::Validator kFiniteNumber(
    [](std::string& text) {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || !end || *end != '\0' || !std::isfinite(v)) return "'" + text + "' is not a finite number";
      return std::string();
    },
    "NUMBER");

/// A number > 0 and <= `max` (checked after kFiniteNumber).
inline CLI::Validator positive_up_to(double max, const std::string& range) {
  return CLI::Validator(
      [max, range](std::string& text) {
        const double v = std::strtod(text.c_str(), nullptr);
        if (!(v > 0.0 && v <= max)) return "'" + text + "' is not in " + range;
        return std::string();
      },
      "NUMBER in " + range);
}

/// The largest thread count a flag or config accepts.
constexpr int kMaxThreads = 1024;

/// --threads N (0 = all cores). `threads` keeps -1 when the flag is absent, so a
/// command can fall back to the config's or the checkpoint's train.threads.
inline CLI::Option* add_threads_flag(CLI::App& cmd, int& threads, const std::string& fallback) {
  return cmd
      .add_option("--threads", threads,
                  "threads for xseq's kernels and OpenBLAS together (0 = all cores; default: " + fallback + ")")
      ->check(kInteger)
      ->check(CLI::Range(0, kMaxThreads));
}

/// --max-input when neither the flag nor the model's data.max_len sets it.
constexpr std::int64_t kDefaultMaxInput = 1024;
/// The source length limit of translate and eval: the flag, else the model's
/// data.max_len, else kDefaultMaxInput. Longer inputs are truncated and counted,
/// so no input line can make decoding run out of memory.
std::int64_t max_input_tokens(std::int64_t flag, const Config& model_config);

/// Beam search, sampling and length penalty flags shared by translate and eval.
struct DecodeFlags {
  std::int64_t beam = 1;
  double alpha = 0.6;
  std::int64_t batch = 0;      ///< 0: the command's default
  std::int64_t max_input = -1; ///< -1: from the model (docs: eval_commands.cpp)
  std::int64_t n_best = 0;     ///< translate only; 0: one translation per line
  double max_len_ratio = 2.0;  ///< an output stops at ratio x source tokens + extra
  std::int64_t max_len_extra = 10;
  bool sample = false;
  double temperature = 1.0;
  std::int64_t top_k = 0;
  double top_p = 1.0;
  std::uint64_t seed = 1;
  std::string precision;  ///< --precision; "" = the checkpoint's
  std::vector<std::string> checkpoints;  ///< --checkpoint, repeatable: an ensemble
  DecodeOptions options() const {
    DecodeOptions o;
    o.beam = beam;
    o.alpha = alpha;
    o.n_best = n_best > 0 ? n_best : 1;
    o.max_len_ratio = max_len_ratio;
    o.max_len_extra = max_len_extra;
    o.sample = sample;
    o.temperature = temperature;
    o.top_k = top_k;
    o.top_p = top_p;
    o.seed = seed;
    return o;
  }
};

/// The Translator options the decoding flags and --threads (-1: the checkpoint's
/// train.threads) ask for.
inline TranslatorOptions translator_options(const DecodeFlags& f, int threads) {
  TranslatorOptions o;
  static_cast<SearchOptions&>(o) = SearchOptions{};
  o.beam = f.beam;
  o.n_best = f.n_best > 0 ? f.n_best : 1;
  o.alpha = f.alpha;
  o.max_len_ratio = f.max_len_ratio;
  o.max_len_extra = f.max_len_extra;
  o.sample = f.sample;
  o.temperature = f.temperature;
  o.top_k = f.top_k;
  o.top_p = f.top_p;
  o.seed = f.seed;
  o.batch_size = f.batch;
  o.max_input = f.max_input > 0 ? f.max_input : 0;
  o.threads = threads;
  o.precision = f.precision;
  return o;
}

/// --precision fp32|bf16|int8 of the decoding commands (docs/precision.md).
inline CLI::Option* add_precision_flag(CLI::App& cmd, std::string& precision) {
  return cmd
      .add_option("--precision", precision,
                  "products: fp32, bf16 (needs avx512_bf16) or int8 (weights quantised per output row, "
                  "activations per row; default: the checkpoint's, int8 for a quantised one, else fp32)")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
}

/// What two decoding flags together cannot mean: a command-line error (exit 2).
inline void check_decode_flags(const DecodeFlags& f) {
  const std::string n = std::to_string(f.n_best), beam = std::to_string(f.beam);
  if (f.n_best > f.beam)
    throw CLI::ValidationError("--n-best",
                               "--n-best " + n + " needs --beam of at least " + n + " (got --beam " + beam + ")");
  if (f.sample && f.beam > 1)
    throw CLI::ValidationError("--sample",
                               "--sample draws one output per sentence: it cannot be combined with --beam " + beam);
  if (f.sample && f.n_best > 0)
    throw CLI::ValidationError("--sample",
                               "--sample cannot be combined with --n-best (n-best lists are beam search's)");
}

/// --checkpoint (repeatable), --beam, --alpha, --batch, --max-input, the sampling
/// flags and, with `n_best`, --n-best; check_decode_flags runs once they parsed.
inline void add_decode_flags(CLI::App& cmd, DecodeFlags& f, std::int64_t default_batch, bool n_best = false) {
  cmd.add_option("--checkpoint", f.checkpoints,
                 "a checkpoint written by xseq train; repeat it to decode with an ensemble (the mean of the "
                 "models' log-probabilities)")
      ->required()
      ->allow_extra_args(false);
  cmd.add_option("--beam", f.beam, "beam size (1 = greedy search)")->check(kInteger)->check(CLI::Range(1, 256))->default_val(1);
  cmd.add_option("--alpha", f.alpha, "length penalty ((5 + |Y|) / 6)^alpha of beam search (0 = none)")
      ->check(kFiniteNumber)
      ->check(CLI::Range(0.0, 10.0))
      ->default_val(0.6);
  cmd.add_option("--batch", f.batch, "sentences decoded together")
      ->check(kInteger)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{65536}))
      ->default_val(default_batch);
  cmd.add_option("--max-input", f.max_input,
                 "longest source (and reference) in tokens; longer ones are truncated and counted "
                 "(default: the model's data.max_len, or 1024 when that is 0)")
      ->check(kInteger)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  cmd.add_option("--max-len-ratio", f.max_len_ratio,
                 "an output stops at this many tokens per source token, plus --max-len-extra")
      ->check(kFiniteNumber)
      ->check(CLI::Range(0.0, 1000.0))
      ->default_val(2.0);
  cmd.add_option("--max-len-extra", f.max_len_extra, "tokens an output may have beyond --max-len-ratio x source")
      ->check(kInteger)
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 20))
      ->default_val(10);
  if (n_best)
    cmd.add_option("--n-best", f.n_best, "print the N best hypotheses of beam search per sentence (N <= --beam)")
        ->check(kInteger)
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{256}));
  add_precision_flag(cmd, f.precision);
  cmd.add_flag("--sample", f.sample, "draw each next token from the model's distribution instead of searching");
  cmd.add_option("--temperature", f.temperature, "with --sample: divide the log-probabilities by T (> 0)")
      ->check(kFiniteNumber)
      ->check(positive_up_to(1e6, "(0, 1e6]"))
      ->default_val(1.0);
  cmd.add_option("--top-k", f.top_k, "with --sample: draw among the K most likely tokens only (0 = all)")
      ->check(kInteger)
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 30))
      ->default_val(0);
  cmd.add_option("--top-p", f.top_p, "with --sample: draw from the fewest most likely tokens holding mass P (1 = all)")
      ->check(kFiniteNumber)
      ->check(positive_up_to(1.0, "(0, 1]"))
      ->default_val(1.0);
  cmd.add_option("--seed", f.seed, "with --sample: sentence i draws from a random stream of (seed, i)")
      ->check(kInteger)
      ->check(CLI::NonNegativeNumber)
      ->default_val(1);
  cmd.parse_complete_callback([&f] { check_decode_flags(f); });
}

/// --set section.key=value, repeatable, one override per flag.
inline CLI::Option* add_set_flag(CLI::App& cmd, std::vector<std::string>& sets) {
  return cmd
      .add_option("--set", sets, "override a config key: section.key=value (TOML value syntax), repeatable")
      ->allow_extra_args(false)
      ->type_name("KEY=VALUE");
}

}  // namespace xseq::cli
