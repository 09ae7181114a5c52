// `xseq bench CONFIG`: training (or greedy decoding) speed of the config's
// model on random token batches of the config's shapes, as one JSON object.
#pragma once

#include "train/config.hpp"

namespace xseq {

/// Matrix-product FLOPs of one forward pass of the config's model on a batch of
/// B sentences of source length S and target length T (2 per multiply-add;
/// attention scores and context included; elementwise work not counted). A
/// training step is counted as 3x this (forward, and backward's two products
/// per forward product). Documented in docs/bench.md.
double forward_flops(const ModelConfig& model, std::int64_t vocab, std::int64_t B, std::int64_t S, std::int64_t T);

}  // namespace xseq

namespace xseq::cli {
int run_bench_command(int argc, char** argv);
}  // namespace xseq::cli
