// The xseq command line as a library call.
#pragma once

namespace xseq::cli {
/// Runs `xseq <command> ...` (argv[0] is the program name); returns the exit code.
int run(int argc, char** argv);
}  // namespace xseq::cli
