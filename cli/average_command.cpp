// xseq average: the mean of checkpoints' weights (train/averaging.cpp).
#include <cstdio>
#include <filesystem>

#include "cli/command.hpp"
#include "train/averaging.hpp"

namespace xseq::cli {
namespace {

// `xseq average A.h5 B.h5 ... --out OUT` or `xseq average --last N RUN_DIR [--out OUT]`.
int run_average(const std::vector<std::string>& inputs, std::int64_t last, std::string out) {
  std::vector<std::string> paths = inputs;
  if (last > 0) {
    if (inputs.size() != 1)
      throw CLI::ValidationError("--last", "give exactly one run directory with --last, got " +
                                               std::to_string(inputs.size()) + " arguments");
    paths = newest_step_checkpoints(inputs[0], last);
    if (out.empty()) out = (std::filesystem::path(inputs[0]) / "averaged.h5").string();
  } else {
    if (inputs.size() < 2)
      throw CLI::ValidationError("checkpoints", "give two or more checkpoints, or --last N RUN_DIR");
    if (out.empty()) throw CLI::RequiredError("--out");
  }
  average_or_copy(paths, out);
  std::printf("averaged %zu checkpoints into %s\n", paths.size(), out.c_str());
  for (const auto& p : paths) std::printf("  %s\n", p.c_str());
  return 0;
}

Command add_average(CLI::App& root) {
  auto* cmd = root.add_subcommand("average", "average the parameters of checkpoints of one model");
  cmd->footer(
      "Averages the weights of several checkpoints of one model (same config and\n"
      "vocabularies); the result loads like any checkpoint. --last N RUN_DIR takes the newest N\n"
      "ckpt-<step>.h5 of a run (train.keep_checkpoints) and writes RUN_DIR/averaged.h5 unless\n"
      "--out says otherwise. Checkpoints trained with train.ema_decay contribute their moving\n"
      "average.");
  struct Flags {
    std::string out;
    std::int64_t last = 0;
    std::vector<std::string> inputs;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--out", f->out, "the averaged checkpoint to write (required without --last)");
  cmd->add_option("--last", f->last, "average the newest N step checkpoints of the run directory given")
      ->check(kInteger)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000}));
  cmd->add_option("inputs", f->inputs, "two or more checkpoints, or one run directory with --last")
      ->required()
      ->expected(1, -1);
  return {cmd, [f] { return run_average(f->inputs, f->last, f->out); }};
}

}  // namespace

Command add_average_command(CLI::App& root) { return add_average(root); }

}  // namespace xseq::cli
