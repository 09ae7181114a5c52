#include <cmath>

#include "helpers.hpp"

using namespace xseq;

namespace {
// A two-level module: the names its parameters get are the checkpoint contract.
class Block : public Module {
 public:
  explicit Block(Rng& rng)
      : attn_(register_module("attn", std::make_shared<MultiHeadAttention>(8, 2, rng))),
        norm_(register_module("norm", std::make_shared<LayerNorm>(8))) {
    scale_ = register_parameter("scale", Tensor::ones({1}));
  }
  std::shared_ptr<MultiHeadAttention> attn_;
  std::shared_ptr<LayerNorm> norm_;
  Variable scale_;
};

class Stack : public Module {
 public:
  explicit Stack(Rng& rng) {
    for (int i = 0; i < 2; ++i) register_module("layers." + std::to_string(i), std::make_shared<Block>(rng));
  }
  using Module::register_parameter;
};
}  // namespace

TEST_CASE("Module: hierarchical names in a stable order", "[module]") {
  Rng rng(3);
  Stack stack(rng);
  const auto params = stack.named_parameters();
  std::vector<std::string> names;
  for (const auto& p : params) names.push_back(p.name);
  REQUIRE(names.size() == 2 * (1 + 8 + 2));
  CHECK(names[0] == "layers.0.scale");
  CHECK(names[1] == "layers.0.attn.q.weight");
  CHECK(names[2] == "layers.0.attn.q.bias");
  CHECK(names[7] == "layers.0.attn.o.weight");
  CHECK(names[9] == "layers.0.norm.weight");
  CHECK(names[11] == "layers.1.scale");
  CHECK(stack.parameter_count() == 2 * (1 + 4 * (8 * 8 + 8) + 16));
  CHECK(stack.parameter("layers.1.attn.k.weight").shape() == Shape({8, 8}));
}

TEST_CASE("Module: the same seed gives the same weights", "[module]") {
  Rng a(42), b(42), c(43);
  Stack sa(a), sb(b), sc(c);
  const auto pa = sa.parameters(), pb = sb.parameters(), pc = sc.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) REQUIRE(max_abs_diff(pa[i].value(), pb[i].value()) == 0.0f);
  CHECK(max_abs_diff(pa[1].value(), pc[1].value()) > 0.0f);
}

TEST_CASE("Module: bad names and lookups are clear errors", "[module]") {
  Rng rng(1);
  Stack stack(rng);
  CHECK_THROWS_WITH(stack.register_parameter("layers.0", Tensor::ones({1})),
                    Catch::Contains("invalid name 'layers.0'"));
  CHECK_THROWS_WITH(stack.register_parameter("", Tensor::ones({1})), Catch::Contains("invalid name"));
  stack.register_parameter("bias", Tensor::ones({1}));
  CHECK_THROWS_WITH(stack.register_parameter("bias", Tensor::ones({1})), Catch::Contains("already registered"));
  CHECK_THROWS_WITH(stack.parameter("layers.0.attn.q.wieght"),
                    Catch::Contains("no parameter named 'layers.0.attn.q.wieght'") &&
                        Catch::Contains("layers.0.attn.q.weight"));
  CHECK_THROWS_WITH(stack.set_parameter("layers.0.norm.weight", Tensor::ones({7})),
                    Catch::Contains("has shape (8,), the given value has shape (7,)"));
}

TEST_CASE("Module: train/eval reaches every descendant, zero_grad clears all", "[module]") {
  Rng rng(1);
  Stack stack(rng);
  stack.eval();
  std::function<void(const Module&)> all_eval = [&](const Module& m) {
    CHECK_FALSE(m.training());
    for (const auto& c : m.children()) all_eval(*c.second);
  };
  all_eval(stack);
  stack.train();
  CHECK(stack.children()[1].second->children()[0].second->training());
  for (auto& p : stack.parameters()) p.accumulate_grad(Tensor::ones(p.shape()));
  stack.zero_grad();
  for (auto& p : stack.parameters()) CHECK_FALSE(p.has_grad());
}

TEST_CASE("initialisers draw from the stated distributions", "[module][random]") {
  Rng rng(7);
  Tensor w({200, 300});
  init::xavier_uniform(w, 300, 200, rng);
  const float bound = std::sqrt(6.0f / 500.0f);
  double sum = 0, sq = 0;
  float lo = 1e9f, hi = -1e9f;
  for (std::int64_t i = 0; i < w.numel(); ++i) {
    sum += w.data()[i];
    sq += double(w.data()[i]) * w.data()[i];
    lo = std::min(lo, w.data()[i]);
    hi = std::max(hi, w.data()[i]);
  }
  CHECK(lo >= -bound);
  CHECK(hi < bound);
  CHECK(hi > 0.99f * bound);
  const double n = double(w.numel());
  CHECK(std::abs(sum / n) < 0.01 * bound);
  CHECK(std::sqrt(sq / n) == Approx(bound / std::sqrt(3.0)).epsilon(0.01));  // U(-a,a) has std a/sqrt(3)

  init::xavier_normal(w, 300, 200, rng);
  sq = 0;
  for (std::int64_t i = 0; i < w.numel(); ++i) sq += double(w.data()[i]) * w.data()[i];
  CHECK(std::sqrt(sq / n) == Approx(std::sqrt(2.0 / 500.0)).epsilon(0.01));
  init::scaled_normal(w, 64, rng, 2.0f);
  sq = 0;
  for (std::int64_t i = 0; i < w.numel(); ++i) sq += double(w.data()[i]) * w.data()[i];
  CHECK(std::sqrt(sq / n) == Approx(2.0 / 8.0).epsilon(0.01));
  init::zeros(w);
  CHECK(w.at({5, 5}) == 0.0f);
  init::ones(w);
  CHECK(w.at({5, 5}) == 1.0f);
}
