// `xseq translate`, `xseq eval` and `xseq average`.
#pragma once

#include <string>
#include <vector>

namespace xseq {
/// Writes to `out` the parameter-wise mean of checkpoints of one model; other
/// vocabularies or parameters are an error naming the file and the parameter.
void average_checkpoints(const std::vector<std::string>& paths, const std::string& out);
}  // namespace xseq

namespace xseq::cli {
int run_translate_command(int argc, char** argv);
int run_eval_command(int argc, char** argv);
int run_average_command(int argc, char** argv);
int run_report_command(int argc, char** argv);
}  // namespace xseq::cli
