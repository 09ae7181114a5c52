// build/xseq: the command line (cli/cli.cpp).
#include "cli/cli.hpp"

int main(int argc, char** argv) { return xseq::cli::run(argc, argv); }
