// Vectorisable float32 exp, tanh, sigmoid and the normal CDF: branch-free
// inline code that GCC turns into AVX2 under `#pragma omp simd` (the libm
// functions are opaque calls and keep the loops scalar). Accuracy, checked in
// tests/test_vmath.cpp against libm over dense grids (bounds there); exp(-inf) = 0 exactly, exp(+inf) = inf,
// NaN propagates (xseq never builds with -ffast-math).
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#include "framework/kernels/isa_abi.hpp"

namespace xseq::vmath {
// Each instruction set's kernels get their own copies (framework/kernels/isa_abi.hpp).
inline namespace XSEQ_KERNEL_ABI {

namespace detail {
inline float bits_to_float(std::int32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline std::int32_t float_to_bits(float f) {
  std::int32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}
}  // namespace detail

/// e^x (Cephes-style: x = n ln2 + r, polynomial for e^r, 2^n through the exponent bits).
inline float exp(float x) {
  constexpr float kHi = 88.3762626647949f, kLo = -87.3365447505531f;  // e^kLo = smallest normal
  // NaN fails both comparisons and lands on kLo, so the integer conversion
  // below never sees NaN (undefined behaviour); the NaN is restored at the end.
  const float xc = x > kHi ? kHi : (x >= kLo ? x : kLo);
  const float n = __builtin_floorf(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * r * r + r + 1.0f;
  // n is in [-126, 128]: scale by 2^(n/2) twice so both factors are normal floats.
  const std::int32_t ni = static_cast<std::int32_t>(n);
  const std::int32_t half = ni / 2;
  const float scaled = er * detail::bits_to_float((half + 127) << 23) * detail::bits_to_float((ni - half + 127) << 23);
  float result = scaled;
  result = x < kLo ? 0.0f : result;  // e^x < FLT_MIN (subnormal range) and -inf give 0
  result = x > kHi ? std::numeric_limits<float>::infinity() : result;  // overflow, +inf
  result = x != x ? x : result;                                        // NaN
  return result;
}

/// 1 / (1 + e^-x)
inline float sigmoid(float x) { return 1.0f / (1.0f + vmath::exp(-x)); }

/// tanh: odd polynomial near 0 (no cancellation), (1 - e^-2|x|) / (1 + e^-2|x|) elsewhere.
inline float tanh(float x) {
  const float ax = x < 0.0f ? -x : x;
  const float x2 = x * x;
  // Taylor series to x^9; the first omitted term is < 4e-9 at |x| = 0.25.
  const float small = x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 + x2 * (62.0f / 2835)))));
  const float e = vmath::exp(-2.0f * ax);
  const float big = (1.0f - e) / (1.0f + e);
  float result = ax < 0.25f ? small : (x < 0.0f ? -big : big);
  result = x != x ? x : result;
  return result;
}

namespace detail {
// Numerical Recipes' erfcc: erfc(z) = t * exp(-z^2 + poly(t)), t = 1 / (1 + |z|/2),
// fractional error below 1.2e-7 for every z >= 0. This is poly(t).
inline float erfcc_poly(float t) {
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  return p * t - 1.26551223f;
}

// e^(-c v^2 + p) for v >= 0 with v = hi + lo, hi keeping 12 significant bits so
// that hi^2 is exact in float32: the rounding of v^2 (relative u * v^2 in the
// result) never enters, which keeps the far tail accurate.
inline float exp_minus_square(float v, float c, float p) {
  const float hi = bits_to_float(float_to_bits(v) & ~0xFFF);
  // v^2 - hi^2 = lo (v + hi); taken as 0 when v == hi, which also avoids inf - inf for v = inf.
  const float rest = hi == v ? 0.0f : (v - hi) * (v + hi);
  return vmath::exp(-c * (hi * hi)) * vmath::exp(p - c * rest);
}
}  // namespace detail

/// erfc(z).
inline float erfc(float z) {
  const float az = z < 0.0f ? -z : z;
  const float t = 1.0f / (1.0f + 0.5f * az);
  const float r = t * detail::exp_minus_square(az, 1.0f, detail::erfcc_poly(t));
  return z >= 0.0f ? r : 2.0f - r;
}

/// Standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2, accurate in relative
/// terms in both tails: no 1 + erf cancellation for negative x, and e^(-x^2/2)
/// is formed from x itself (rounding x / sqrt 2 first would cost u * x^2).
inline float normal_cdf(float x) {
  const float ax = x < 0.0f ? -x : x;
  const float t = 1.0f / (1.0f + 0.35355339059327376f * ax);  // 1 / (1 + |x| / (2 sqrt 2))
  const float tail = 0.5f * t * detail::exp_minus_square(ax, 0.5f, detail::erfcc_poly(t));  // Phi(-|x|)
  return x < 0.0f ? tail : 1.0f - tail;
}

}  // namespace XSEQ_KERNEL_ABI
}  // namespace xseq::vmath
