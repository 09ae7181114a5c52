// `xseq translate`, `xseq eval` and `xseq average`.
#pragma once

namespace xseq::cli {
int run_translate_command(int argc, char** argv);
int run_eval_command(int argc, char** argv);
int run_average_command(int argc, char** argv);
int run_report_command(int argc, char** argv);
}  // namespace xseq::cli
