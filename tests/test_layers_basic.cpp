#include <cmath>

#include "helpers.hpp"

using namespace xseq;
using test::param;
using test::require_gradients_match;
using test::uniform;

TEST_CASE("Dense: x W^T + b, activation, gradients", "[layers][gradcheck]") {
  Rng rng(11);
  Dense d(3, 2, rng);
  d.set_parameter("weight", Tensor::from_vector({2, 3}, {1, 2, 3, -1, 0, 1}));
  d.set_parameter("bias", Tensor::from_vector({2}, {0.5f, -0.5f}));
  const Variable y = d.forward(Variable(Tensor::from_vector({1, 1, 3}, {1, 1, 2})));
  test::require_close(y.value(), {1 + 2 + 6 + 0.5f, -1 + 0 + 2 - 0.5f});
  CHECK(y.shape() == Shape({1, 1, 2}));

  for (const char* act : {"none", "tanh", "gelu", "sigmoid"}) {
    DYNAMIC_SECTION(act) {
      Dense layer(4, 3, rng, Dense::Options{true, parse_activation(act)});
      const Variable x = param(uniform({2, 5, 4}, rng));
      require_gradients_match([&] { return layer.forward(x); }, {x, layer.weight(), layer.bias()});
    }
  }
  SECTION("relu, at a point where no pre-activation is within the step of its kink") {
    Dense layer(4, 3, rng, Dense::Options{false, Activation::relu});
    const Variable x = param(uniform({2, 4}, rng));
    Dense linear_only(4, 3, rng, Dense::Options{false, Activation::none});
    linear_only.set_parameter("weight", layer.weight().value());
    const Tensor pre = linear_only.forward(x).value();
    for (std::int64_t i = 0; i < pre.numel(); ++i) REQUIRE(std::abs(pre.data()[i]) > 0.05f);
    require_gradients_match([&] { return layer.forward(x); }, {x, layer.weight()});
  }
  CHECK_THROWS_WITH(d.forward(Variable(Tensor::ones({2, 4}))), Catch::Contains("must end in 3 features"));
  CHECK_THROWS_WITH(parse_activation("swish"), Catch::Contains("unknown activation 'swish'"));
}

TEST_CASE("Embedding: lookup, padding row, sqrt(dim) scaling, gradients", "[layers][gradcheck]") {
  Rng rng(12);
  Embedding e(6, 4, rng, Embedding::Options{0, false});
  CHECK(e.weight().value().at({0, 3}) == 0.0f);  // the padding row starts at zero
  const IndexTensor ids({2, 3}, {1, 0, 5, 5, 2, 0});
  const Variable y = e.forward(ids);
  CHECK(y.shape() == Shape({2, 3, 4}));
  CHECK(y.value().at({0, 2, 1}) == e.weight().value().at({5, 1}));
  // The padding row is constant by design (no gradient), so check on ids without it.
  const IndexTensor no_pad({2, 3}, {1, 3, 5, 5, 2, 4});
  require_gradients_match([&] { return e.forward(no_pad); }, {e.weight()});
  e.zero_grad();
  sum(e.forward(ids)).backward();
  CHECK(e.weight().grad().at({0, 2}) == 0.0f);  // padding gets no gradient
  CHECK(e.weight().grad().at({5, 2}) == 2.0f);

  Embedding scaled(6, 4, rng, Embedding::Options{-1, true});
  CHECK(scaled.forward(ids).value().at({0, 0, 3}) == Approx(2.0f * scaled.weight().value().at({1, 3})));
  CHECK_THROWS_WITH(Embedding(4, 2, rng, Embedding::Options{4, false}), Catch::Contains("padding_idx 4"));
}

TEST_CASE("LayerNorm and FeedForward layers: gradients", "[layers][gradcheck]") {
  Rng rng(13);
  LayerNorm ln(5);
  ln.set_parameter("weight", uniform({5}, rng, 0.5f, 1.5f));
  ln.set_parameter("bias", uniform({5}, rng));
  const Variable x = param(uniform({3, 5}, rng));
  require_gradients_match([&] { return ln.forward(x); }, {x, ln.parameter("weight"), ln.parameter("bias")});

  FeedForward ff(4, 6, rng, Activation::gelu, 0.0f);
  const Variable h = param(uniform({2, 3, 4}, rng));
  std::vector<Variable> wrt{h};
  for (auto& p : ff.parameters()) wrt.push_back(p);
  CHECK(ff.forward(h).shape() == Shape({2, 3, 4}));
  require_gradients_match([&] { return ff.forward(h); }, wrt);
}

TEST_CASE("Dropout layer: active only in training mode, reproducible per seed", "[layers]") {
  Rng a(9), b(9);
  Dropout da(0.5f, a), db(0.5f, b);
  const Variable x(Tensor::ones({1000}));
  const Tensor ya = da.forward(x).value(), yb = db.forward(x).value();
  CHECK(max_abs_diff(ya, yb) == 0.0f);
  std::int64_t zeros = 0;
  for (std::int64_t i = 0; i < ya.numel(); ++i) {
    REQUIRE((ya.data()[i] == 0.0f || ya.data()[i] == 2.0f));
    zeros += ya.data()[i] == 0.0f;
  }
  CHECK(zeros > 420);
  CHECK(zeros < 580);
  da.eval();
  CHECK(max_abs_diff(da.forward(x).value(), x.value()) == 0.0f);

  // Gradients in training mode, with the layer's Rng reset before every call so
  // the finite differences see the same mask.
  Rng c(10);
  Dropout dc(0.3f, c);
  const Variable small = param(uniform({4, 5}, c));
  const Rng start = dc.rng();
  require_gradients_match(
      [&] {
        dc.rng() = start;
        return dc.forward(small);
      },
      {small});
  CHECK_THROWS_WITH(Dropout(1.0f, a), Catch::Contains("p must be in [0, 1)"));
}

TEST_CASE("positional encodings: sinusoid values, offsets, learned table gradients", "[layers][gradcheck]") {
  const Tensor pe = SinusoidalPositions::table(50, 6);
  CHECK(pe.at({0, 0}) == 0.0f);
  CHECK(pe.at({0, 1}) == 1.0f);
  CHECK(pe.at({3, 0}) == Approx(std::sin(3.0f)));
  CHECK(pe.at({3, 1}) == Approx(std::cos(3.0f)));
  CHECK(pe.at({7, 2}) == Approx(std::sin(7.0 / std::pow(10000.0, 2.0 / 6.0))));
  CHECK(pe.at({7, 5}) == Approx(std::cos(7.0 / std::pow(10000.0, 4.0 / 6.0))));

  SinusoidalPositions sin_pos(6);
  Rng rng0(3);
  const Variable x0 = param(uniform({2, 3, 6}, rng0));
  require_gradients_match([&] { return sin_pos.forward(x0, 5); }, {x0});
  const Variable zeros(Tensor::zeros({2, 4, 6}));
  const Tensor shifted = sin_pos.forward(zeros, 40).value();  // also grows the table past 64
  CHECK(shifted.at({1, 2, 3}) == pe.at({42, 3}));

  Rng rng(14);
  LearnedPositions learned(10, 6, rng);
  const Variable x = param(uniform({2, 4, 6}, rng));
  require_gradients_match([&] { return learned.forward(x, 3); }, {x, learned.parameter("weight")});
  CHECK_THROWS_WITH(learned.forward(x, 7), Catch::Contains("positions up to 11") && Catch::Contains("holds 10"));
}
