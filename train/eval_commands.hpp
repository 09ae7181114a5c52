// xseq eval, average and report (registered by add_eval_commands in
// train/cli_common.hpp), and averaging as a library call.
#pragma once

#include <string>
#include <vector>

namespace xseq {
/// Averages the parameters of checkpoints of one model into `out`; errors name
/// a checkpoint whose vocabularies or parameters differ from the first's.
void average_checkpoints(const std::vector<std::string>& paths, const std::string& out);
}  // namespace xseq
