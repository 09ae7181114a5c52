// The custom layer's own gradient check, with xseq's public checker. Exit code
// 0 = every check passed (run by CTest and by xseq's CI).
#include <cstdio>

#include <config/config.hpp>

#include "highway.hpp"

namespace {
int failures = 0;
void expect(bool ok, const char* what, const std::string& detail) {
  std::printf("%s %s: %s\n", ok ? "ok  " : "FAIL", what, detail.c_str());
  failures += ok ? 0 : 1;
}
xseq::Tensor random_tensor(const xseq::Shape& shape, xseq::Rng& rng) {
  xseq::Tensor t(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = rng.uniform(-1.0f, 1.0f);
  return t;
}
}  // namespace

int main() {
  using namespace xseq;
  Rng rng(7);

  // The op alone: every input.
  const Variable t(random_tensor({2, 3, 4}, rng), true), h(random_tensor({2, 3, 4}, rng), true),
      x(random_tensor({2, 3, 4}, rng), true);
  const GradCheckResult op = check_gradients([&] { return example::highway_mix(t, h, x); }, {t, h, x});
  expect(op.ok, "highway_mix gradients", op.report());

  // The layer, built by name as a config file would, at a point away from relu's kink.
  LayerArgs args;
  args.type = "highway";
  args.dim = 4;
  args.options["gate_bias"] = -0.5;
  std::shared_ptr<SequenceLayer> layer = make_layer(args, rng);
  expect(layer->parameter("gate.bias").value().at({0}) == -0.5f, "gate_bias option reaches the layer", "");
  std::vector<Variable> wrt{x};
  for (const auto& p : layer->parameters()) wrt.push_back(p);
  const GradCheckResult full = check_gradients([&] { return layer->forward(x, {3, 2}); }, wrt);
  expect(full.ok, "Highway layer gradients (input and 4 parameters)", full.report());

  // In a model built from a config file: its parameters are named after its place.
  const Config config = parse_config(
      "[data]\ntask = \"copy\"\n[model]\nd_model = 8\nheads = 2\n[[model.encoder_extra]]\ntype = \"highway\"\n",
      "inline.toml");
  const auto model = make_model(config.model, 12, 12, rng);
  expect(model->parameter("encoder_extra.0.gate.weight").shape() == Shape({8, 8}),
         "a config's [[model.encoder_extra]] type = \"highway\" builds the layer", "encoder_extra.0.gate.weight");

  // Bad input gets a clear error.
  try {
    example::highway_mix(t, h, Variable(random_tensor({2, 3}, rng)));
    expect(false, "shape mismatch is an error", "no exception");
  } catch (const Error& e) {
    expect(std::string(e.what()).find("must have one shape") != std::string::npos, "shape mismatch is an error",
           e.what());
  }
  std::printf("%s\n", failures == 0 ? "all checks passed" : "some checks FAILED");
  return failures == 0 ? 0 : 1;
}
