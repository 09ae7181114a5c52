// xseq bench (registered by add_bench_command in train/cli_common.hpp) and the
// analytic FLOP count it reports.
#pragma once

#include "train/config.hpp"

namespace xseq {

double forward_flops(const ModelConfig& model, std::int64_t vocab, std::int64_t B, std::int64_t S, std::int64_t T);

}  // namespace xseq
