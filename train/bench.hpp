// `xseq bench`: training or greedy-decoding speed of a config's model on random
// batches, printed as one JSON object (docs/bench.md).
#pragma once

#include <cstdint>
#include <string>

#include "config/config.hpp"

namespace xseq {

struct BenchOptions {
  std::int64_t steps = 20, warmup = 3;
  std::int64_t tokens = 0;  ///< > 0: batch = tokens / data.max_len
  std::string attention = "auto";  ///< packed_attention's kernel: auto, materialized, tiled
  /// The products' kernel (framework/blas.hpp): auto (decoding batch-invariant,
  /// training OpenBLAS), blas or batch_invariant for every product.
  std::string gemm = "auto";
  /// Products: training fp32, bf16 or auto (empty = the config's train.precision);
  /// --decode fp32, bf16 or int8 (empty = fp32). docs/precision.md.
  std::string precision;
  bool decode = false;   ///< greedy decoding instead of training steps
  bool profile = false;  ///< per-op times to stderr
};

/// Runs the benchmark (under mpirun: every rank trains, rank 0 prints); returns the exit code.
int run_bench(const Config& config, const BenchOptions& options);

}  // namespace xseq
