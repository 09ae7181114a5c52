#include "tests/helpers.hpp"

using namespace xseq;
using namespace xseq::test;

// The checker itself must be able to fail: a deliberately wrong backward is caught.
TEST_CASE("check_gradients catches a wrong backward", "[gradcheck]") {
  Rng rng(1);
  Variable x(uniform({4, 3}, rng), true);
  auto wrong_square = [](const Variable& v) {
    Tensor y = v.value().clone();
    for (std::int64_t i = 0; i < y.numel(); ++i) y.data()[i] *= y.data()[i];
    return Variable::from_op("wrong_square", y, {v}, [v](const Tensor& gy) {
      Tensor& g = v.grad_buffer();
      for (std::int64_t i = 0; i < g.numel(); ++i) g.data()[i] += gy.data()[i] * v.value().data()[i];  // missing 2x
    });
  };
  const GradCheckResult r = check_gradients([&] { return wrong_square(x); }, {x});
  REQUIRE_FALSE(r.ok);
  REQUIRE(r.worst_input == 0);
  REQUIRE(r.worst_ratio > 10.0);
  REQUIRE_THAT(r.report(), Catch::Contains("GRADIENT MISMATCH"));
}

TEST_CASE("check_gradients passes a correct custom op and restores state", "[gradcheck]") {
  Rng rng(2);
  Variable x(uniform({5}, rng), false);
  x.accumulate_grad(Tensor::ones({5}));
  auto square = [](const Variable& v) {
    Tensor y = v.value().clone();
    for (std::int64_t i = 0; i < y.numel(); ++i) y.data()[i] *= y.data()[i];
    return Variable::from_op("square", y, {v}, [v](const Tensor& gy) {
      Tensor& g = v.grad_buffer();
      for (std::int64_t i = 0; i < g.numel(); ++i) g.data()[i] += 2 * gy.data()[i] * v.value().data()[i];
    });
  };
  const GradCheckResult r = check_gradients([&] { return square(x); }, {x});
  INFO(r.report());
  REQUIRE(r.ok);
  REQUIRE(r.checked == 5);
  REQUIRE_FALSE(x.requires_grad());   // restored
  require_close(x.grad(), {1, 1, 1, 1, 1});  // earlier gradient kept
}

TEST_CASE("check_gradients rejects non-leaf variables and non-finite outputs", "[gradcheck]") {
  Variable x(Tensor::from_vector({2}, {1, -1}), true);
  Variable y = x * 2.0f;
  REQUIRE_THROWS_WITH(check_gradients([&] { return y; }, {y}), Catch::Contains("must be a defined leaf"));
  REQUIRE_THROWS_WITH(check_gradients([&] { return log(x); }, {x}), Catch::Contains("is not finite"));
}

TEST_CASE("check_gradients restores values and flags when fn throws", "[gradcheck]") {
  Variable x(Tensor::from_vector({3}, {1, 2, 3}), false);
  int calls = 0;
  auto throws_later = [&] {
    if (++calls > 2) throw xseq::Error("boom");
    return x * 2.0f;
  };
  REQUIRE_THROWS_WITH(check_gradients(throws_later, {x}), "boom");
  require_close(x.value(), {1, 2, 3});
  REQUIRE_FALSE(x.requires_grad());
  REQUIRE_FALSE(x.has_grad());
}
