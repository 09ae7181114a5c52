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

// An op whose backward assigns its gradient instead of adding it: right on one
// backward pass, so finite differences pass; the accumulation check catches it.
TEST_CASE("check_gradients catches a backward that assigns instead of accumulating", "[gradcheck]") {
  Rng rng(3);
  const Variable a(uniform({3, 2}, rng), true), b(uniform({3, 2}, rng), true);
  // y = 3 a + b: a's gradient added (right), b's assigned (wrong).
  auto mixed = [](const Variable& u, const Variable& v) {
    Tensor y = u.value().clone();
    for (std::int64_t i = 0; i < y.numel(); ++i) y.data()[i] = 3 * y.data()[i] + v.value().data()[i];
    return Variable::from_op("assigning_op", y, {u, v}, [u, v](const Tensor& gy) {
      float* gu = u.grad_buffer().data();
      float* gv = v.grad_buffer().data();
      for (std::int64_t i = 0; i < gy.numel(); ++i) {
        gu[i] += 3 * gy.data()[i];
        gv[i] = gy.data()[i];  // the bug
      }
    });
  };
  const GradCheckResult r = check_gradients([&] { return mixed(a, b); }, {a, b});
  INFO(r.report());
  CHECK(r.worst_ratio <= 1.0);  // the finite differences alone would pass
  REQUIRE_FALSE(r.ok);
  REQUIRE_FALSE(r.accumulates);
  CHECK(r.accumulation_input == 1);
  REQUIRE(r.inputs.size() == 2);
  CHECK(r.inputs[0].accumulates);
  CHECK(r.inputs[0].accumulation_deviation == 0.0);
  CHECK_FALSE(r.inputs[1].accumulates);
  CHECK_FALSE(r.inputs[1].ok());
  // The deviation is |g| itself: the second pass left g instead of 2 g.
  double max_g = 0.0;
  const Variable y = mixed(a, b);
  Rng w(GradCheckOptions().seed);
  for (std::int64_t i = 0; i < y.numel(); ++i) max_g = std::max(max_g, std::fabs(double(w.normal())));
  CHECK(r.accumulation_deviation == Approx(max_g).epsilon(1e-6));
  CHECK_THAT(r.report(), Catch::Contains("BACKWARD DOES NOT ACCUMULATE") && Catch::Contains("input 1"));
  // Turned off, the same op passes: only the accumulation check sees the bug.
  GradCheckOptions off;
  off.check_accumulation = false;
  CHECK(check_gradients([&] { return mixed(a, b); }, {a, b}, off).ok);
}

TEST_CASE("check_gradients reports each input's errors", "[gradcheck]") {
  Rng rng(4);
  const Variable a(uniform({4}, rng), true), unused(uniform({2}, rng), true);
  const GradCheckResult r = check_gradients([&] { return a * a; }, {a, unused});
  INFO(r.report());
  REQUIRE(r.ok);
  REQUIRE(r.inputs.size() == 2);
  CHECK(r.inputs[0].checked == 4);
  CHECK(r.inputs[0].max_abs_error > 0.0);  // finite differences are never exact in float32
  CHECK(r.inputs[0].worst_ratio <= 1.0);
  CHECK(r.inputs[1].checked == 2);
  CHECK(r.inputs[1].max_abs_error == 0.0);
  CHECK(r.accumulates);
}

TEST_CASE("check_gradients: allow_kinks forgives a kink within the step, not a wrong gradient", "[gradcheck]") {
  const Variable x(Tensor::from_vector({3}, {0.005f, -0.5f, 0.7f}), true);  // the first sits 0.005 from relu's kink
  const GradCheckResult strict = check_gradients([&] { return relu(x); }, {x});
  CHECK_FALSE(strict.ok);
  CHECK(strict.worst_element == 0);
  GradCheckOptions kinks;
  kinks.allow_kinks = true;
  const GradCheckResult lenient = check_gradients([&] { return relu(x); }, {x}, kinks);
  INFO(lenient.report());
  CHECK(lenient.ok);
  CHECK(lenient.kinks == 1);
  CHECK(lenient.inputs.at(0).kinks == 1);
  CHECK(lenient.checked == 2);
  CHECK_THAT(lenient.report(), Catch::Contains("1 skipped at kinks"));
  // A gradient missing its factor 2 is no kink: both one-sided differences disagree with it.
  auto half_grad = [](const Variable& v) {
    Tensor y = v.value().clone();
    for (std::int64_t i = 0; i < y.numel(); ++i) y.data()[i] *= 2.0f;
    return Variable::from_op("half_grad", y, {v}, [v](const Tensor& gy) {
      for (std::int64_t i = 0; i < gy.numel(); ++i) v.grad_buffer().data()[i] += gy.data()[i];
    });
  };
  const GradCheckResult wrong = check_gradients([&] { return half_grad(x); }, {x}, kinks);
  CHECK_FALSE(wrong.ok);
  CHECK(wrong.kinks == 0);
}
