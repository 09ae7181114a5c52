// The body of the per-instruction-set kernels (vector_kernels.hpp). Included
// only by vector_kernels_{generic,avx2,avx512}.cpp, each of which defines
// XSEQ_KERNEL_ISA (the inline helpers' namespace, isa_abi.hpp) and
// XSEQ_KERNEL_TABLE (the table's name) first and is compiled with its own
// instruction-set flags (CMakeLists.txt).
//
// Everything here has internal linkage or lives in the ISA's namespace, and the
// code calls no out-of-line inline function of another header (std::max,
// std::fill, std::log, ...: builtins and plain loops instead): a symbol this
// file shared with the rest of the program could be the copy the linker keeps,
// and carry instructions the CPU lacks.
#pragma once

#if !defined(XSEQ_KERNEL_ISA) || !defined(XSEQ_KERNEL_TABLE)
#error "define XSEQ_KERNEL_ISA and XSEQ_KERNEL_TABLE before including vector_kernels_impl.hpp"
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "framework/kernels/row_math.hpp"
#include "framework/kernels/vector_kernels.hpp"
#include "framework/ops/vmath.hpp"

namespace xseq::kernels {
namespace {

constexpr float kNegInf = -__builtin_inff();
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// ---- softmax -------------------------------------------------------------------

// Writes z = x + mask into y and returns the row maximum.
float masked_row(const float* x, const float* m, std::int64_t m_stride, float* y, std::int64_t n) {
  float mx = kNegInf;
  if (!m) {
#pragma omp simd reduction(max : mx)
    for (std::int64_t j = 0; j < n; ++j) {
      y[j] = x[j];
      mx = x[j] > mx ? x[j] : mx;
    }
  } else if (m_stride == 1) {
#pragma omp simd reduction(max : mx)
    for (std::int64_t j = 0; j < n; ++j) {
      y[j] = x[j] + m[j];
      mx = y[j] > mx ? y[j] : mx;
    }
  } else {
    const float m0 = m[0];
#pragma omp simd reduction(max : mx)
    for (std::int64_t j = 0; j < n; ++j) {
      y[j] = x[j] + m0;
      mx = y[j] > mx ? y[j] : mx;
    }
  }
  return mx;
}

void softmax_row(const float* x, const float* mask, std::int64_t mask_stride, float* y, std::int64_t n, bool log) {
  const float mx = masked_row(x, mask, mask_stride, y, n);
  if (mx == kNegInf) {  // every position masked
    for (std::int64_t j = 0; j < n; ++j) y[j] = log ? kNegInf : 0.0f;
    return;
  }
  if (!log) return detail::exp_normalize(y, n, mx);
  const float total =
      detail::lane_sum(detail::unmasked_length(y, n), [&](std::int64_t j) { return vmath::exp(y[j] - mx); });
  const float shift = mx + __builtin_logf(total);
#pragma omp simd
  for (std::int64_t j = 0; j < n; ++j) y[j] -= shift;
}

void softmax_backward_row(const float* y, const float* dy, float* dx, std::int64_t n) {
  float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
  for (std::int64_t j = 0; j < n; ++j) dot += dy[j] * y[j];
#pragma omp simd
  for (std::int64_t j = 0; j < n; ++j) dx[j] += y[j] * (dy[j] - dot);
}

void log_softmax_backward_row(const float* y, const float* dy, float* dx, std::int64_t n) {
  float total = 0.0f;
#pragma omp simd reduction(+ : total)
  for (std::int64_t j = 0; j < n; ++j) total += y[j] != kNegInf ? dy[j] : 0.0f;
#pragma omp simd
  for (std::int64_t j = 0; j < n; ++j) dx[j] += y[j] != kNegInf ? dy[j] - vmath::exp(y[j]) * total : 0.0f;
}

// ---- layer norm ----------------------------------------------------------------

void layer_norm_row(const float* x, const float* gamma, const float* beta, float eps, std::int64_t n, float* y,
                    float* stats) {
  const float mean = detail::lane_sum(n, [&](std::int64_t j) { return x[j]; }) / float(n);
  // Two-pass variance: no cancellation for large means.
  const float var = detail::lane_sum(n, [&](std::int64_t j) { return (x[j] - mean) * (x[j] - mean); });
  const float rstd = 1.0f / __builtin_sqrtf(var / float(n) + eps);
#pragma omp simd
  for (std::int64_t j = 0; j < n; ++j) y[j] = (x[j] - mean) * rstd * gamma[j] + beta[j];
  stats[0] = mean;
  stats[1] = rstd;
}

void layer_norm_backward_row(const float* x, const float* gamma, const float* dy, const float* stats, std::int64_t n,
                             float* dx, float* dgamma, float* dbeta) {
  const float mean = stats[0], rstd = stats[1];
  float sum_dxhat = 0.0f, sum_dxhat_xhat = 0.0f;
  if (dgamma) {
#pragma omp simd reduction(+ : sum_dxhat, sum_dxhat_xhat)
    for (std::int64_t j = 0; j < n; ++j) {
      const float xhat = (x[j] - mean) * rstd;
      const float dxhat = dy[j] * gamma[j];
      sum_dxhat += dxhat;
      sum_dxhat_xhat += dxhat * xhat;
      dgamma[j] += dy[j] * xhat;
      dbeta[j] += dy[j];
    }
  } else {
#pragma omp simd reduction(+ : sum_dxhat, sum_dxhat_xhat)
    for (std::int64_t j = 0; j < n; ++j) {
      const float xhat = (x[j] - mean) * rstd;
      const float dxhat = dy[j] * gamma[j];
      sum_dxhat += dxhat;
      sum_dxhat_xhat += dxhat * xhat;
    }
  }
  if (!dx) return;
  const float m1 = sum_dxhat / float(n), m2 = sum_dxhat_xhat / float(n);
#pragma omp simd
  for (std::int64_t j = 0; j < n; ++j) {
    const float xhat = (x[j] - mean) * rstd;
    dx[j] += rstd * (dy[j] * gamma[j] - m1 - xhat * m2);
  }
}

// ---- cross-entropy -------------------------------------------------------------

float row_max(const float* row, std::int64_t n, float init) {
  float mx = init;
#pragma omp simd reduction(max : mx)
  for (std::int64_t j = 0; j < n; ++j) mx = row[j] > mx ? row[j] : mx;
  return mx;
}

float logsumexp_row(const float* x, std::int64_t n, float* sum_x) {
  const float mx = row_max(x, n, x[0]);
  *sum_x = detail::lane_sum(n, [&](std::int64_t j) { return x[j]; });
  const float total = detail::lane_sum(n, [&](std::int64_t j) { return vmath::exp(x[j] - mx); });
  return mx + __builtin_logf(total);
}

void cross_entropy_backward_row(const float* x, float lse, float g, float smooth, std::int64_t n, float* dx) {
#pragma omp simd
  for (std::int64_t j = 0; j < n; ++j) dx[j] += g * (vmath::exp(x[j] - lse) - smooth);
}

// ---- activations ---------------------------------------------------------------

// y = x * Phi(x) with Phi the standard normal CDF;  dy/dx = Phi(x) + x * phi(x)
void gelu(const float* x, float* y, std::int64_t n) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] * vmath::normal_cdf(x[i]);
}

inline float gelu_derivative(float v) {
  return vmath::normal_cdf(v) + v * kInvSqrt2Pi * vmath::exp(-0.5f * v * v);
}

void gelu_backward(const float* x, const float* dy, float* dx, std::int64_t n, bool accumulate) {
  if (accumulate) {
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) dx[i] += gelu_derivative(x[i]) * dy[i];
  } else {
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) dx[i] = gelu_derivative(x[i]) * dy[i];
  }
}

void relu(const float* x, float* y, std::int64_t n) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

// dy is loaded whatever the sign, so that the select vectorises without masked
// loads (which baseline x86-64 lacks).
void relu_backward(const float* x, const float* dy, float* dx, std::int64_t n, bool accumulate) {
  if (accumulate) {
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) {
      const float d = dy[i];
      dx[i] += x[i] > 0.0f ? d : 0.0f;
    }
  } else {
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) {
      const float d = dy[i];
      dx[i] = x[i] > 0.0f ? d : 0.0f;
    }
  }
}

void tanh(const float* x, float* y, std::int64_t n) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) y[i] = vmath::tanh(x[i]);
}

void sigmoid(const float* x, float* y, std::int64_t n) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) y[i] = vmath::sigmoid(x[i]);
}

void exp(const float* x, float* y, std::int64_t n) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) y[i] = vmath::exp(x[i]);
}

// ---- dropout -------------------------------------------------------------------

// Rng::hash32 (framework/random.hpp), repeated here so that no inline function is
// shared with code of another instruction set; tests/test_dispatch.cpp checks
// that the masks agree bit for bit.
inline std::uint32_t hash32(std::uint32_t key, std::uint32_t i) {
  std::uint32_t x = i * 0x9E3779B9u + key;
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  return x ^ (x >> 16);
}

void dropout(const float* in, float* out, std::int64_t n, std::uint32_t key, std::int32_t threshold, float scale,
             std::uint32_t first, bool accumulate) {
  if (accumulate) {
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) {
      const auto bits = static_cast<std::int32_t>(hash32(key, first + static_cast<std::uint32_t>(i)) >> 8);
      out[i] += in[i] * (bits >= threshold ? scale : 0.0f);
    }
  } else {
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) {
      const auto bits = static_cast<std::int32_t>(hash32(key, first + static_cast<std::uint32_t>(i)) >> 8);
      out[i] = in[i] * (bits >= threshold ? scale : 0.0f);
    }
  }
}

// ---- Adam ----------------------------------------------------------------------

void adam(float* w, const float* g, float* m, float* v, std::int64_t n, const AdamStep& s) {
  const float b1 = s.beta1, b2 = s.beta2, eps = s.eps, wd = s.weight_decay, lr = s.lr;
  const float step_size = s.step_size, inv_sqrt_c2 = s.inv_sqrt_c2;
  if (s.decoupled) {
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) {
      const float grad = g[i];
      w[i] -= lr * wd * w[i];
      m[i] = b1 * m[i] + (1.0f - b1) * grad;
      v[i] = b2 * v[i] + (1.0f - b2) * grad * grad;
      w[i] -= step_size * m[i] / (__builtin_sqrtf(v[i]) * inv_sqrt_c2 + eps);
    }
  } else {
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) {
      const float grad = g[i] + wd * w[i];
      m[i] = b1 * m[i] + (1.0f - b1) * grad;
      v[i] = b2 * v[i] + (1.0f - b2) * grad * grad;
      w[i] -= step_size * m[i] / (__builtin_sqrtf(v[i]) * inv_sqrt_c2 + eps);
    }
  }
}

// ---- recurrent gates -----------------------------------------------------------

//   r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z),  n = tanh(gi_n + r * gh_n),  h = n + z (h - n)
void gru_row(const float* x, float* g, const float* bias, float* a, float* h, float* out, std::int64_t H) {
#pragma omp simd
  for (std::int64_t j = 0; j < H; ++j) {
    const float r = vmath::sigmoid(x[j] + g[j] + bias[j]);
    const float z = vmath::sigmoid(x[H + j] + g[H + j] + bias[H + j]);
    const float gn = g[2 * H + j] + bias[2 * H + j];
    const float n = vmath::tanh(x[2 * H + j] + r * gn);
    g[2 * H + j] = gn;
    a[j] = r;
    a[H + j] = z;
    a[2 * H + j] = n;
    h[j] = n + z * (h[j] - n);
    out[j] = h[j];
  }
}

void gru_backward_row(const float* a, const float* g, const float* hb, const float* dout, float* dh, float* dgh,
                      float* dgi, std::int64_t H) {
#pragma omp simd
  for (std::int64_t j = 0; j < H; ++j) {
    const float r = a[j], z = a[H + j], n = a[2 * H + j];
    const float d = dh[j] + dout[j];
    const float dn = d * (1.0f - z) * (1.0f - n * n);
    const float dr = dn * g[2 * H + j] * r * (1.0f - r);
    const float dz = d * (hb[j] - n) * z * (1.0f - z);
    dgh[j] = dr;
    dgh[H + j] = dz;
    dgh[2 * H + j] = dn * r;
    if (dgi) {
      dgi[j] += dr;
      dgi[H + j] += dz;
      dgi[2 * H + j] += dn;
    }
    dh[j] = d * z;
  }
}

//   i, f, o = sigmoid(.),  g = tanh(.),  c = f c + i g,  h = o tanh(c)
void lstm_row(const float* x, float* a, const float* bias, float* c, float* tc, float* h, float* out, std::int64_t H) {
#pragma omp simd
  for (std::int64_t j = 0; j < H; ++j) {
    const float in = vmath::sigmoid(x[j] + a[j] + bias[j]);
    const float forget = vmath::sigmoid(x[H + j] + a[H + j] + bias[H + j]);
    const float cell = vmath::tanh(x[2 * H + j] + a[2 * H + j] + bias[2 * H + j]);
    const float outg = vmath::sigmoid(x[3 * H + j] + a[3 * H + j] + bias[3 * H + j]);
    a[j] = in;
    a[H + j] = forget;
    a[2 * H + j] = cell;
    a[3 * H + j] = outg;
    c[j] = forget * c[j] + in * cell;
    tc[j] = vmath::tanh(c[j]);
    h[j] = outg * tc[j];
    out[j] = h[j];
  }
}

void lstm_backward_row(const float* a, const float* tc, const float* cb, const float* dout, float* dh, float* dc,
                       float* da, float* dgi, std::int64_t H) {
#pragma omp simd
  for (std::int64_t j = 0; j < H; ++j) {
    const float in = a[j], forget = a[H + j], cell = a[2 * H + j], outg = a[3 * H + j];
    const float d_h = dh[j] + dout[j];
    const float d_c = dc[j] + d_h * outg * (1.0f - tc[j] * tc[j]);
    const float d_i = d_c * cell * in * (1.0f - in);
    const float d_f = d_c * cb[j] * forget * (1.0f - forget);
    const float d_g = d_c * in * (1.0f - cell * cell);
    const float d_o = d_h * tc[j] * outg * (1.0f - outg);
    da[j] = d_i;
    da[H + j] = d_f;
    da[2 * H + j] = d_g;
    da[3 * H + j] = d_o;
    if (dgi) {
      dgi[j] += d_i;
      dgi[H + j] += d_f;
      dgi[2 * H + j] += d_g;
      dgi[3 * H + j] += d_o;
    }
    dc[j] = d_c * forget;
    dh[j] = 0.0f;
  }
}

// ---- attention tiles -----------------------------------------------------------

float exp_shift_sum(float* row, std::int64_t n, float max) { return detail::exp_shift_sum(row, n, max); }

void exp_normalize(float* row, std::int64_t n, float max) { detail::exp_normalize(row, n, max); }

void exp_shift(float* row, std::int64_t n, float shift) {
#pragma omp simd
  for (std::int64_t c = 0; c < n; ++c) row[c] = vmath::exp(row[c] - shift);
}

float abs_max(const float* x, std::int64_t n) {
  float m = 0.0f;
#pragma omp simd reduction(max : m)
  for (std::int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}

// Round to nearest even by the 1.5 * 2^23 trick: exact for |v| < 2^22, which the
// clamp below keeps (v = x * inv is within 127 (1 + 2u) of 0); it vectorises on
// every instruction set, where nearbyint is a libm call below SSE4.1.
void quantize_s8(const float* x, std::int64_t n, float inv, std::int8_t* out) {
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = std::min(std::max(x[i] * inv, -127.0f), 127.0f);
    out[i] = static_cast<std::int8_t>(static_cast<std::int32_t>((v + kRound) - kRound));
  }
}

void dequantize_row(const std::int32_t* acc, float sx, const float* sw, const float* bias, bool relu, float* y,
                    std::int64_t n) {
  if (bias) {
#pragma omp simd
    for (std::int64_t j = 0; j < n; ++j) y[j] = static_cast<float>(acc[j]) * (sx * sw[j]) + bias[j];
  } else {
#pragma omp simd
    for (std::int64_t j = 0; j < n; ++j) y[j] = static_cast<float>(acc[j]) * (sx * sw[j]);
  }
  if (relu) {
#pragma omp simd
    for (std::int64_t j = 0; j < n; ++j) y[j] = y[j] > 0.0f ? y[j] : 0.0f;
  }
}

void to_bf16(const float* x, std::uint16_t* out, std::int64_t n) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    const bool nan = (bits & 0x7F800000u) == 0x7F800000u && (bits & 0x007FFFFFu) != 0;
    const std::uint32_t rounded = bits + 0x7FFFu + ((bits >> 16) & 1u);  // to nearest, ties to even
    out[i] = static_cast<std::uint16_t>(nan ? (bits >> 16) | 0x40u : rounded >> 16);
  }
}

}  // namespace

// Designated initialisers (GCC accepts them in C++17): a member out of order
// would not compile, where positional ones would silently swap same-typed kernels.
const VectorKernels XSEQ_KERNEL_TABLE = {
    .isa = XSEQ_KERNEL_ISA_ENUM,
    .softmax_row = softmax_row,
    .softmax_backward_row = softmax_backward_row,
    .log_softmax_backward_row = log_softmax_backward_row,
    .layer_norm_row = layer_norm_row,
    .layer_norm_backward_row = layer_norm_backward_row,
    .logsumexp_row = logsumexp_row,
    .cross_entropy_backward_row = cross_entropy_backward_row,
    .gelu = gelu,
    .gelu_backward = gelu_backward,
    .relu = relu,
    .tanh = tanh,
    .sigmoid = sigmoid,
    .exp = exp,
    .relu_backward = relu_backward,
    .dropout = dropout,
    .adam = adam,
    .gru_row = gru_row,
    .gru_backward_row = gru_backward_row,
    .lstm_row = lstm_row,
    .lstm_backward_row = lstm_backward_row,
    .row_max = row_max,
    .exp_shift_sum = exp_shift_sum,
    .exp_shift = exp_shift,
    .exp_normalize = exp_normalize,
    .abs_max = abs_max,
    .quantize_s8 = quantize_s8,
    .dequantize_row = dequantize_row,
    .to_bf16 = to_bf16,
};

}  // namespace xseq::kernels
