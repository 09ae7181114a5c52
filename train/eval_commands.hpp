// `xseq translate` and `xseq eval`.
#pragma once

namespace xseq::cli {
int run_translate_command(int argc, char** argv);
int run_eval_command(int argc, char** argv);
}  // namespace xseq::cli
