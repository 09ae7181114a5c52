// The xseq command line plus the highway layer: `xseq_highway train cfg.toml`
// accepts [[model.encoder_extra]] type = "highway" (registered in highway.cpp).
#include <train/cli.hpp>

int main(int argc, char** argv) { return xseq::cli::run(argc, argv); }
