// xseq demo: the autodiff engine alone (train/demo.cpp).
#include "cli/command.hpp"
#include "framework/parallel.hpp"
#include "train/demo.hpp"

namespace xseq::cli {

Command add_demo_command(CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "demo", "the autodiff engine alone: a tiny attention-pooling model learns to point at the largest token");
  auto options = std::make_shared<DemoOptions>();
  auto threads = std::make_shared<int>(0);
  cmd->add_option("--steps", options->steps, "training steps")->check(CLI::Range(1, 1000000))->capture_default_str();
  cmd->add_option("--batch", options->batch, "sequences per batch")->check(CLI::Range(1, 65536))->capture_default_str();
  cmd->add_option("--seed", options->seed, "weights and data")->capture_default_str();
  add_threads_flag(*cmd, *threads, "all cores");
  return {cmd, [options, threads] {
            set_num_threads(*threads < 0 ? 0 : *threads);
            return run_attention_demo(*options) > 0.9 ? 0 : 1;
          }};
}

}  // namespace xseq::cli
