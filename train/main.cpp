// build/xseq: the command line (train/cli.cpp).
#include "train/cli.hpp"

int main(int argc, char** argv) { return xseq::cli::run(argc, argv); }
