// `xseq data make` and `xseq data stats`.
#pragma once

namespace xseq::cli {
/// argv[0] = "xseq", argv[1] = "data", argv[2] = the subcommand. Returns the exit code.
int run_data_command(int argc, char** argv);
}  // namespace xseq::cli
