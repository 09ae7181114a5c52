#include "tests/helpers.hpp"

using namespace xseq;
using namespace xseq::test;

TEST_CASE("sum, mean and max values", "[ops][reduce]") {
  Variable x(Tensor::from_vector({2, 3}, {1, 5, 3, 4, 2, 6}));
  REQUIRE(sum(x).value().item() == 21.0f);
  REQUIRE(sum(x).shape() == Shape{});
  require_close(sum(x, {0}).value(), {5, 7, 9});
  require_close(sum(x, {-1}, true).value(), {9, 12});
  REQUIRE(sum(x, {-1}, true).shape() == Shape{2, 1});
  require_close(mean(x, {1}).value(), {3, 4});
  REQUIRE(mean(x).value().item() == Approx(3.5f));
  require_close(max(x, 1).value(), {5, 6});
  require_close(max(x, 0, true).value(), {4, 5, 6});
  REQUIRE(max(x, 0, true).shape() == Shape{1, 3});
  REQUIRE_THROWS_WITH(sum(x, {0, -2}), Catch::Contains("axis -2 is listed twice"));
  REQUIRE_THROWS_WITH(max(x, 2), Catch::Contains("max: axis 2 is out of range"));
}

TEST_CASE("max sends the gradient to the first maximum only", "[ops][reduce]") {
  Variable x(Tensor::from_vector({4}, {1, 3, 3, 2}), true);
  max(x, 0).backward();
  require_close(x.grad(), {0, 1, 0, 0});
}

TEST_CASE("Gradients of reductions", "[gradcheck][ops][reduce]") {
  Rng rng(41);
  Variable x = param(uniform({2, 3, 4}, rng));
  require_gradients_match([&] { return sum(x); }, {x});
  require_gradients_match([&] { return sum(x, {1}); }, {x});
  require_gradients_match([&] { return sum(x, {0, 2}, true); }, {x});
  require_gradients_match([&] { return mean(x, {-1}); }, {x});
  require_gradients_match([&] { return mean(x, {0, 1}); }, {x});
  // max: distinct values at least 0.05 apart, so the +-1e-2 step never changes the argmax.
  std::vector<float> values(24);
  for (int i = 0; i < 24; ++i) values[i] = 0.05f * float((i * 7) % 24);
  Variable d = param(Tensor::from_vector({2, 3, 4}, values));
  for (int axis : {0, 1, 2}) {
    INFO("axis " << axis);
    require_gradients_match([&] { return max(d, axis); }, {d});
  }
}
