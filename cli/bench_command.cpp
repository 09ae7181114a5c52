// xseq bench: flags only; the benchmark is train/bench.cpp.
#include "cli/command.hpp"
#include "framework/parallel.hpp"
#include "train/bench.hpp"

namespace xseq::cli {
namespace {

struct BenchFlags {
  std::string config_path;
  std::vector<std::string> sets;
  int threads = -1;
  BenchOptions options;
};

Command add_bench(CLI::App& root) {
  auto* cmd = root.add_subcommand("bench", "training or decoding speed of a config's model on random batches");
  cmd->footer(
      "Trains (or with --decode greedily decodes) the config's model on random token batches:\n"
      "train.batch_size sentences of data.max_len tokens, vocabulary data.vocab_size. Prints one\n"
      "JSON object: ms_per_step, tgt_tokens_per_s, gflops_per_step (counted analytically,\n"
      "docs/bench.md), gflop_per_s, cpu_ms_per_step, peak_rss_mb, tensor_peak_mb (and gen_tokens_per_s with\n"
      "--decode; ema_ms_per_step, the part of ms_per_step the moving average of the weights\n"
      "takes, with --set train.ema_decay=0.999). --profile also prints a per-op timing table (forward and backward ms per step)\n"
      "to stderr. --tokens N fixes the target tokens per batch (batch = N / data.max_len) for rows\n"
      "over lengths; --attention picks packed_attention's kernel (auto: by length, docs/bench.md);\n"
      "--gemm blas decodes with OpenBLAS instead of the batch-invariant products (what invariance costs).\n"
      "Under mpirun every rank trains on its own random batch and the gradients are summed over\n"
      "the ranks as in training: rank 0 adds ranks, allreduce_ms_per_step, allreduce_wait_ms_per_step\n"
      "(what backward did not hide), allreduce_mb_per_step and allreduce_overlap (docs/distributed.md).");
  auto f = std::make_shared<BenchFlags>();
  cmd->add_option("config", f->config_path, "the config file (TOML)")->required()->check(CLI::ExistingFile);
  add_set_flag(*cmd, f->sets);
  cmd->add_option("--steps", f->options.steps, "timed steps")->check(CLI::Range(std::int64_t{1}, std::int64_t{1000000}))->capture_default_str();
  cmd->add_option("--warmup", f->options.warmup, "untimed steps first")->check(CLI::Range(std::int64_t{0}, std::int64_t{1000000}))->capture_default_str();
  cmd->add_option("--tokens", f->options.tokens, "target tokens per batch: batch = N / data.max_len (0 = train.batch_size)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{100000000}));
  cmd->add_option("--attention", f->options.attention, "attention kernel: auto, materialized (T x T weights) or tiled")
      ->check(CLI::IsMember({"auto", "materialized", "tiled"}))
      ->capture_default_str();
  cmd->add_option("--gemm", f->options.gemm,
                  "products: auto (decoding batch-invariant, training OpenBLAS), blas or batch_invariant for all")
      ->check(CLI::IsMember({"auto", "blas", "batch_invariant"}))
      ->capture_default_str();
  add_threads_flag(*cmd, f->threads, "train.threads");
  cmd->add_option("--precision", f->options.precision,
                  "products: fp32, bf16 or auto for training (default: train.precision); fp32, bf16 or int8 "
                  "with --decode (default fp32)")
      ->check(CLI::IsMember({"fp32", "bf16", "int8", "auto"}));
  cmd->add_flag("--decode", f->options.decode, "greedy decoding instead of training steps");
  cmd->add_flag("--profile", f->options.profile, "per-op forward/backward times to stderr");
  return {cmd, [f] {
            const Config config = load_config(f->config_path, f->sets);
            set_num_threads(f->threads >= 0 ? f->threads : static_cast<int>(config.train.threads));
            return run_bench(config, f->options);
          }};
}

}  // namespace

Command add_bench_command(CLI::App& root) { return add_bench(root); }

}  // namespace xseq::cli
