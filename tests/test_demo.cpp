// The main job's engine demo must actually learn (end to end through every
// layer of the engine: embedding, matmul, masked softmax, cross-entropy, backward).
#include "tests/helpers.hpp"

#include "train/demo.hpp"

TEST_CASE("The attention demo learns to find the largest token", "[e2e]") {
  xseq::DemoOptions options;
  options.steps = 300;
  REQUIRE(xseq::run_attention_demo(options) >= 0.99);
}

TEST_CASE("The demo with too few steps does not reach high accuracy", "[e2e]") {
  xseq::DemoOptions options;
  options.steps = 2;  // guards against an accuracy measure that always says yes
  REQUIRE(xseq::run_attention_demo(options) < 0.9);
}
