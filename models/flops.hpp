// The analytic FLOP count of a model's forward pass (`xseq bench` reports
// GFLOP/s from it; docs/bench.md says what it counts).
#pragma once

#include <cstdint>

#include "models/seq2seq.hpp"

namespace xseq {

/// Multiply-adds x 2 of one forward pass over a batch of B sentences of S source
/// and T target tokens with a vocabulary of V (training is about 3x this).
double forward_flops(const ModelConfig& model, std::int64_t V, std::int64_t B, std::int64_t S, std::int64_t T);

}  // namespace xseq
