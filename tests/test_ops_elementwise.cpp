#include "tests/helpers.hpp"

using namespace xseq;
using namespace xseq::test;

TEST_CASE("Binary ops broadcast like numpy", "[ops][broadcast]") {
  Variable a(Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6}));
  Variable row(Tensor::from_vector({3}, {10, 20, 30}));
  Variable col(Tensor::from_vector({2, 1}, {100, 200}));
  require_close((a + row).value(), {11, 22, 33, 14, 25, 36});
  require_close((a - col).value(), {-99, -98, -97, -196, -195, -194});
  require_close((a * row).value(), {10, 40, 90, 40, 100, 180});
  require_close((a / col).value(), {0.01f, 0.02f, 0.03f, 0.02f, 0.025f, 0.03f});
  REQUIRE((row + col).shape() == Shape{2, 3});
  Variable scalar(Tensor::scalar(2.0f));
  require_close((a * scalar).value(), {2, 4, 6, 8, 10, 12});
  REQUIRE_THROWS_WITH(a + Variable(Tensor::zeros({2})),
                      Catch::Contains("add: shapes (2, 3) and (2,) cannot be broadcast"));
}

TEST_CASE("Scalar ops and neg", "[ops]") {
  Variable x(Tensor::from_vector({3}, {1, 2, 4}));
  require_close((x + 1.0f).value(), {2, 3, 5});
  require_close((x - 1.0f).value(), {0, 1, 3});
  require_close((1.0f - x).value(), {0, -1, -3});
  require_close((x * 3.0f).value(), {3, 6, 12});
  require_close((x / 2.0f).value(), {0.5f, 1, 2});
  require_close((8.0f / x).value(), {8, 4, 2});
  require_close((-x).value(), {-1, -2, -4});
}

TEST_CASE("Unary op values", "[ops]") {
  Variable x(Tensor::from_vector({3}, {-1, 0, 1}));
  require_close(relu(x).value(), {0, 0, 1});
  require_close(gelu(x).value(), {-0.15865525f, 0, 0.84134475f});
  require_close(tanh(x).value(), {std::tanh(-1.0f), 0, std::tanh(1.0f)});
  require_close(sigmoid(x).value(), {0.26894142f, 0.5f, 0.73105858f});
  require_close(exp(x).value(), {std::exp(-1.0f), 1, std::exp(1.0f)});
  require_close(log(exp(x)).value(), {-1, 0, 1});
}

TEST_CASE("Gradients of add, sub, mul, div with broadcasting", "[gradcheck][ops][broadcast]") {
  Rng rng(11);
  const std::vector<std::pair<Shape, Shape>> shape_pairs = {
      {{3, 4}, {3, 4}},           // same shape
      {{2, 3, 4}, {4}},           // trailing vector (bias)
      {{2, 1, 4}, {3, 1}},        // both sides broadcast
      {{1, 3, 1}, {2, 1, 5}},     // size-1 axes everywhere
      {{2, 3}, {}},               // 0-d scalar
      {{1}, {2, 2}},              // one-element vector
  };
  for (const auto& [sa, sb] : shape_pairs) {
    INFO("a " << sa << " b " << sb);
    Variable a = param(uniform(sa, rng));
    Variable b = param(uniform(sb, rng, 0.5f, 1.5f));  // away from 0 for div
    require_gradients_match([&] { return a + b; }, {a, b});
    require_gradients_match([&] { return a - b; }, {a, b});
    require_gradients_match([&] { return a * b; }, {a, b});
    require_gradients_match([&] { return a / b; }, {a, b});
    require_gradients_match([&] { return b / a * a; }, {a, b});  // a used twice
  }
}

TEST_CASE("Gradients of scalar ops and neg", "[gradcheck][ops]") {
  Rng rng(12);
  Variable x = param(uniform({3, 4}, rng, 0.5f, 2.0f));
  require_gradients_match([&] { return x + 2.0f; }, {x});
  require_gradients_match([&] { return 2.0f - x; }, {x});
  require_gradients_match([&] { return x * -3.0f; }, {x});
  require_gradients_match([&] { return 3.0f / x; }, {x});
  require_gradients_match([&] { return -x; }, {x});
}

TEST_CASE("Gradients of relu, gelu, tanh, sigmoid, exp, log", "[gradcheck][ops]") {
  Rng rng(13);
  Variable x = param(away_from_zero({4, 5}, rng));
  Variable positive = param(uniform({4, 5}, rng, 0.2f, 3.0f));
  require_gradients_match([&] { return relu(x); }, {x});
  require_gradients_match([&] { return gelu(x * 2.0f); }, {x});
  require_gradients_match([&] { return tanh(x * 2.0f); }, {x});
  require_gradients_match([&] { return sigmoid(x * 3.0f); }, {x});
  require_gradients_match([&] { return exp(x); }, {x});
  require_gradients_match([&] { return log(positive); }, {positive});
}
