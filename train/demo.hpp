#pragma once

#include <cstdint>

namespace xseq {

struct DemoOptions {
  int steps = 400;
  int batch = 64;
  std::uint64_t seed = 7;
};

/// Trains a tiny attention-pooling classifier with the autodiff engine (the
/// engine demo until the seq2seq trainer lands): given a padded sequence of
/// tokens, predict its largest token. Prints the loss going down and the
/// held-out accuracy; returns the final accuracy.
double run_attention_demo(const DemoOptions& options);

}  // namespace xseq
