// What every xseq subcommand shares: CLI11 (Debian's libcli11-dev) for typed,
// range-checked flags and --help generated from the same definitions, and the
// flags several commands take (--threads, decoding, --set). Included only by
// the command .cpp files: CLI11 is a large header.
#pragma once

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "train/config.hpp"
#include "train/decoding.hpp"

namespace xseq::cli {

/// A registered subcommand and what runs it once the command line has parsed.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

/// Each command file registers its subcommands on the root app.
std::vector<Command> add_train_commands(CLI::App& root);  // train, config
std::vector<Command> add_eval_commands(CLI::App& root);   // translate, eval, average, report
Command add_translate_command(CLI::App& root);
std::vector<Command> add_data_commands(CLI::App& root);   // data make, data stats
std::vector<Command> add_bench_command(CLI::App& root);   // bench

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

/// Beam search and length penalty flags shared by translate and eval.
struct DecodeFlags {
  std::int64_t beam = 1;
  double alpha = 0.6;
  std::int64_t batch = 0;      ///< 0: the command's default
  std::int64_t max_input = -1; ///< -1: from the model (docs: eval_commands.cpp)
  DecodeOptions options() const {
    DecodeOptions o;
    o.beam = beam;
    o.alpha = alpha;
    return o;
  }
};

inline void add_decode_flags(CLI::App& cmd, DecodeFlags& f, std::int64_t default_batch) {
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
}

/// --set section.key=value, repeatable, one override per flag.
inline CLI::Option* add_set_flag(CLI::App& cmd, std::vector<std::string>& sets) {
  return cmd
      .add_option("--set", sets, "override a config key: section.key=value (TOML value syntax), repeatable")
      ->allow_extra_args(false)
      ->type_name("KEY=VALUE");
}

}  // namespace xseq::cli
