#include "helpers.hpp"

using namespace xseq;

namespace {
// A user layer: y = x * scale, one parameter.
class Scale : public SequenceLayer {
 public:
  Scale(std::int64_t dim, float init) { scale_ = register_parameter("scale", Tensor::full({dim}, init)); }
  Variable forward(const Variable& x, const Lengths&) override { return x * scale_; }

 private:
  Variable scale_;
};
}  // namespace

XSEQ_REGISTER_LAYER(test_scale, [](const LayerArgs& a, Rng&) {
  return std::make_shared<Scale>(a.dim, static_cast<float>(a.get("init", 2.0)));
});

TEST_CASE("layer registry: user layers by name, built-ins present, clear errors", "[registry]") {
  Rng rng(1);
  const auto names = registered_layers();
  CHECK(std::find(names.begin(), names.end(), "test_scale") != names.end());
  CHECK(std::find(names.begin(), names.end(), "transformer_encoder_layer") != names.end());

  LayerArgs args;
  args.type = "test_scale";
  args.dim = 3;
  args.options["init"] = 0.5;
  auto layer = make_layer(args, rng);
  const Variable y = layer->forward(Variable(Tensor::ones({1, 2, 3})), {2});
  CHECK(y.value().at({0, 1, 2}) == 0.5f);
  CHECK(layer->named_parameters()[0].name == "scale");

  args.type = "transformer_encoder_layer";
  args.dim = 8;
  args.options = {{"heads", 2}, {"ff_dim", 16}};
  auto enc = make_layer(args, rng);
  CHECK(enc->parameter("ff.linear1.weight").shape() == Shape({16, 8}));
  CHECK(enc->forward(Variable(Tensor::ones({2, 3, 8})), {3, 1}).shape() == Shape({2, 3, 8}));

  args.type = "higway";
  CHECK_THROWS_WITH(make_layer(args, rng), Catch::Contains("unknown layer type 'higway'") &&
                                               Catch::Contains("test_scale, transformer_encoder_layer"));
  CHECK_THROWS_WITH(register_layer("test_scale", [](const LayerArgs&, Rng&) { return nullptr; }),
                    Catch::Contains("already registered"));
}
