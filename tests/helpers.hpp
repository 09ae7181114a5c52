// Shared helpers for the Catch2 tests.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <vector>

#include "framework/xseq.hpp"

namespace xseq::test {

/// Uniform values in [lo, hi).
inline Tensor uniform(const Shape& shape, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = rng.uniform(lo, hi);
  return t;
}

/// Uniform values whose magnitude is at least `gap`, so a finite-difference
/// step of 1e-2 never crosses the kink of relu/max at 0.
inline Tensor away_from_zero(const Shape& shape, Rng& rng, float gap = 0.1f) {
  Tensor t(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const float v = rng.uniform(gap, 1.0f);
    t.data()[i] = rng.uniform() < 0.5f ? -v : v;
  }
  return t;
}

inline Variable param(const Tensor& t) { return Variable(t, true); }

/// The absolute floor of a float32 result's tolerance against a double
/// reference: a float sum of n terms (each a rounded product) is off by at most
/// about (n + 1) * FLT_EPSILON times the sum of the terms' magnitudes, whatever
/// the order the kernel adds them in. A purely relative tolerance shrinks to
/// nothing when terms of both signs cancel to a value near 0.
inline double rounding_floor(double sum_of_magnitudes, std::int64_t n) {
  return double(n + 1) * 1.1920928955078125e-07 * sum_of_magnitudes;
}

/// `wrt` followed by every parameter of `m`: what a layer's gradient check covers.
inline std::vector<Variable> with_params(std::vector<Variable> wrt, const Module& m) {
  for (auto& p : m.parameters()) wrt.push_back(p);
  return wrt;
}

/// Runs the public gradient checker and fails with its report.
inline void require_gradients_match(const std::function<Variable()>& fn, const std::vector<Variable>& wrt,
                                    const GradCheckOptions& options = {}) {
  const GradCheckResult r = check_gradients(fn, wrt, options);
  INFO(r.report());
  REQUIRE(r.ok);
  REQUIRE(r.checked > 0);
}

inline void require_close(const Tensor& actual, const std::vector<float>& expected, float tol = 1e-5f) {
  REQUIRE(actual.numel() == static_cast<std::int64_t>(expected.size()));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    if (std::isinf(expected[i])) {
      REQUIRE(actual.data()[i] == expected[i]);
    } else {
      REQUIRE(actual.data()[i] == Approx(expected[i]).margin(tol));
    }
  }
}

}  // namespace xseq::test
