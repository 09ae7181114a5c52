// The vectorisable math in framework/ops/vmath.hpp against libm (in double) on
// dense grids. Bounds are stated in float32 ulps (u = 2^-24 = 6e-8 relative).
#include "tests/helpers.hpp"

#include <limits>

#include "framework/ops/vmath.hpp"

namespace vm = xseq::vmath;

namespace {
constexpr double kUlp = 5.96e-8;

template <class Approx, class Exact>
double worst_relative_error(Approx approx, Exact exact, double lo, double hi, double step) {
  double worst = 0.0;
  for (double xd = lo; xd <= hi; xd += step) {
    const float x = static_cast<float>(xd);
    const double r = exact(double(x));
    if (r == 0.0) continue;
    worst = std::max(worst, std::fabs(double(approx(x)) - r) / std::fabs(r));
  }
  return worst;
}
}  // namespace

TEST_CASE("vmath::exp is within 2 ulp of exp over the normal range", "[vmath]") {
  const double err = worst_relative_error([](float x) { return vm::exp(x); }, [](double x) { return std::exp(x); },
                                          -87.3, 88.3, 1e-3);
  INFO("worst relative error " << err);
  REQUIRE(err < 2 * kUlp);
}

TEST_CASE("vmath::exp special values", "[vmath]") {
  constexpr float inf = std::numeric_limits<float>::infinity();
  REQUIRE(vm::exp(-inf) == 0.0f);  // masked softmax positions become exactly 0
  REQUIRE(vm::exp(-100.0f) == 0.0f);
  REQUIRE(vm::exp(inf) == inf);
  REQUIRE(vm::exp(100.0f) == inf);
  REQUIRE(std::isnan(vm::exp(std::numeric_limits<float>::quiet_NaN())));
  REQUIRE(vm::exp(0.0f) == 1.0f);
}

TEST_CASE("vmath::tanh and sigmoid are within 4 ulp", "[vmath]") {
  const double t = worst_relative_error([](float x) { return vm::tanh(x); }, [](double x) { return std::tanh(x); },
                                        -12.0, 12.0, 1e-4);
  // Near zero, where (1 - e)/(1 + e) would cancel: the polynomial branch.
  double t_small = 0.0;
  for (double x = 1e-7; x < 1.0; x *= 1.001)
    t_small = std::max(t_small, std::fabs(double(vm::tanh(float(x))) - std::tanh(double(float(x)))) / std::tanh(double(float(x))));
  const double s = worst_relative_error([](float x) { return vm::sigmoid(x); },
                                        [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, -80.0, 30.0, 1e-3);
  INFO("tanh " << t << ", tanh near 0 " << t_small << ", sigmoid " << s);
  REQUIRE(t < 4 * kUlp);
  REQUIRE(t_small < 4 * kUlp);
  REQUIRE(s < 4 * kUlp);
  REQUIRE(vm::tanh(std::numeric_limits<float>::infinity()) == 1.0f);
  REQUIRE(vm::tanh(-std::numeric_limits<float>::infinity()) == -1.0f);
  REQUIRE(vm::sigmoid(-std::numeric_limits<float>::infinity()) == 0.0f);
}

TEST_CASE("vmath::normal_cdf keeps its relative accuracy in the lower tail", "[vmath]") {
  auto exact = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  // Budget: erfcc's fit 1.2e-7 (2 ulp), two exp calls (2 x 1.5 ulp), rounding of t
  // and of the polynomial (2 ulp), the final products (1 ulp): 8 ulp; e^(-x^2/2) is
  // formed without rounding x^2, so the bound holds deep into the tail.
  const double err = worst_relative_error([](float x) { return vm::normal_cdf(x); }, exact, -12.0, 8.0, 1e-4);
  INFO("worst relative error " << err);
  REQUIRE(err < 10 * kUlp);
  REQUIRE(vm::normal_cdf(-std::numeric_limits<float>::infinity()) == 0.0f);
  REQUIRE(vm::normal_cdf(std::numeric_limits<float>::infinity()) == 1.0f);
  REQUIRE(vm::normal_cdf(0.0f) == 0.5f);
}

TEST_CASE("vmath::erfc", "[vmath]") {
  const double err = worst_relative_error([](float z) { return vm::erfc(z); },
                                          [](double z) { return std::erfc(z); }, -4.0, 8.0, 1e-4);
  INFO("worst relative error " << err);
  REQUIRE(err < 10 * kUlp);
}

TEST_CASE("vmath: NaN in gives NaN out (and no undefined behaviour on the way)", "[vmath]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(vm::exp(nan)));
  CHECK(std::isnan(vm::sigmoid(nan)));
  CHECK(std::isnan(vm::tanh(nan)));
}
