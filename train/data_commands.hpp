// data make and data stats: registered by add_data_commands (train/cli_common.hpp).
#pragma once

#include <string>

#include "datasets/corpus.hpp"

namespace xseq {
/// What `xseq data stats --json` prints: the statistics and the batch padding.
std::string corpus_stats_json(const CorpusStats& stats, double padding_bucketed, double padding_unbucketed);
}  // namespace xseq
