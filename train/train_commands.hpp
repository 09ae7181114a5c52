// `xseq train` and `xseq config`.
#pragma once

namespace xseq::cli {
int run_train_command(int argc, char** argv);
int run_config_command(int argc, char** argv);
}  // namespace xseq::cli
