// xseq's own hot loops, compiled once per instruction set and chosen at run
// time from what the CPU reports (framework/cpu.hpp; XSEQ_ISA forces a lower
// one): one build runs on any x86-64 and uses AVX-512 where the CPU has it.
//
// Each kernel works on one row (or one contiguous range) with raw pointers and
// no threads of its own: the ops (framework/ops/) keep their OpenMP loops and
// their autograd bookkeeping and call these per row. The same source,
// vector_kernels_impl.hpp, is compiled by vector_kernels_generic.cpp (baseline
// x86-64), vector_kernels_avx2.cpp (AVX2 + FMA) and vector_kernels_avx512.cpp
// (AVX-512 F/BW/DQ/VL), so the paths differ only in how the compiler vectorises
// and contracts them: the [dispatch] tests hold every path to the generic one
// within rounding bounds.
#pragma once

#include <cstdint>

#include "framework/cpu.hpp"

namespace xseq::kernels {

/// One Adam/AdamW step's constants (framework/optim.cpp).
struct AdamStep {
  float beta1, beta2, eps, weight_decay, lr;
  float step_size;    ///< lr / (1 - beta1^t)
  float inv_sqrt_c2;  ///< 1 / sqrt(1 - beta2^t)
  bool decoupled;     ///< AdamW: weight decay applied to w, not added to g
};

struct VectorKernels {
  Isa isa;

  // --- softmax over the last axis (framework/ops/softmax.cpp) ---
  /// y = softmax(x + mask) over one row of n (log_softmax when `log`). mask: null,
  /// or the row's mask with stride 1 or 0 (broadcast). A row with every position
  /// masked gives 0 (softmax) or -inf (log_softmax).
  void (*softmax_row)(const float* x, const float* mask, std::int64_t mask_stride, float* y, std::int64_t n,
                      bool log);
  /// dx += y * (dy - sum(dy * y))
  void (*softmax_backward_row)(const float* y, const float* dy, float* dx, std::int64_t n);
  /// dx += dy - exp(y) * sum(dy), 0 where y = -inf
  void (*log_softmax_backward_row)(const float* y, const float* dy, float* dx, std::int64_t n);

  // --- layer normalisation (framework/ops/layer_norm.cpp) ---
  /// y = (x - mean) * rstd * gamma + beta; stats = {mean, rstd}.
  void (*layer_norm_row)(const float* x, const float* gamma, const float* beta, float eps, std::int64_t n, float* y,
                         float* stats);
  /// dx += rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) with dxhat = dy * gamma
  /// (dx may be null); dgamma += dy * xhat, dbeta += dy (both null, or both set).
  void (*layer_norm_backward_row)(const float* x, const float* gamma, const float* dy, const float* stats,
                                  std::int64_t n, float* dx, float* dgamma, float* dbeta);

  // --- cross-entropy (framework/ops/cross_entropy.cpp) ---
  /// The row's log-sum-exp; *sum_x = the sum of its entries.
  float (*logsumexp_row)(const float* x, std::int64_t n, float* sum_x);
  /// dx += g * (exp(x - lse) - smooth)
  void (*cross_entropy_backward_row)(const float* x, float lse, float g, float smooth, std::int64_t n, float* dx);

  // --- activations over a contiguous range (framework/ops/unary.cpp) ---
  void (*gelu)(const float* x, float* y, std::int64_t n);
  /// dx = (or +=, with accumulate) dy * gelu'(x)
  void (*gelu_backward)(const float* x, const float* dy, float* dx, std::int64_t n, bool accumulate);
  void (*relu)(const float* x, float* y, std::int64_t n);
  void (*tanh)(const float* x, float* y, std::int64_t n);
  void (*sigmoid)(const float* x, float* y, std::int64_t n);
  void (*exp)(const float* x, float* y, std::int64_t n);
  /// dx = (or +=) x > 0 ? dy : 0 (x may be relu's output: the same mask)
  void (*relu_backward)(const float* x, const float* dy, float* dx, std::int64_t n, bool accumulate);

  // --- dropout (framework/ops/dropout.cpp, flash_attention.cpp) ---
  /// out[i] = (or +=, with accumulate) in[i] * (keep ? scale : 0), where keep is
  /// Rng::hash32(key, first + i) >> 8 >= threshold: detail::DropoutMask's draw.
  void (*dropout)(const float* in, float* out, std::int64_t n, std::uint32_t key, std::int32_t threshold,
                  float scale, std::uint32_t first, bool accumulate);

  // --- the optimizer (framework/optim.cpp) ---
  /// One Adam/AdamW step over n weights with their moments m and v.
  void (*adam)(float* w, const float* g, float* m, float* v, std::int64_t n, const AdamStep& step);

  // --- recurrent gates over one batch row of H units (framework/ops/gru.cpp, lstm.cpp) ---
  /// GRU: x (3H, input projection), g (3H, recurrent projection; its n part gets
  /// the bias added), bias (3H), gates out (3H: r, z, n), h (H, updated), out (H).
  void (*gru_row)(const float* x, float* g, const float* bias, float* gates, float* h, float* out, std::int64_t H);
  /// GRU backward: dgh (3H) written, dgi (3H, may be null) added to, dh (H) updated.
  void (*gru_backward_row)(const float* gates, const float* g, const float* h_prev, const float* dout, float* dh,
                           float* dgh, float* dgi, std::int64_t H);
  /// LSTM: a (4H) holds the recurrent pre-activations and gets the gates (i, f,
  /// g, o); c (H) updated, tanh_c (H) saved, h (H) updated, out (H).
  void (*lstm_row)(const float* x, float* a, const float* bias, float* c, float* tanh_c, float* h, float* out,
                   std::int64_t H);
  /// LSTM backward: da (4H) written, dgi (4H, may be null) added to, dh set to
  /// 0 (the recurrent part comes from a product), dc updated.
  void (*lstm_backward_row)(const float* gates, const float* tanh_c, const float* c_prev, const float* dout,
                            float* dh, float* dc, float* da, float* dgi, std::int64_t H);

  // --- attention tiles (framework/ops/flash_attention.cpp) ---
  /// max(init, row[0..n))
  float (*row_max)(const float* row, std::int64_t n, float init);
  /// row = exp(row - max) on the row's unmasked prefix, 0 after it; returns
  /// the prefix's sum (row_math.hpp's order).
  float (*exp_shift_sum)(float* row, std::int64_t n, float max);
  /// row = exp(row - shift)
  void (*exp_shift)(float* row, std::int64_t n, float shift);
  /// row[0, n) = softmax of the row given its (finite) maximum, entries past the
  /// last finite one 0 (row_math.hpp's exp_normalize).
  void (*exp_normalize)(float* row, std::int64_t n, float max);

  // --- int8 products (framework/quantize.cpp) ---
  /// max |x[i]| (0 for n = 0)
  float (*abs_max)(const float* x, std::int64_t n);
  /// out[i] = x[i] * inv rounded to the nearest integer (ties to even), clamped to [-127, 127]
  void (*quantize_s8)(const float* x, std::int64_t n, float inv, std::int8_t* out);
  /// y[j] = acc[j] * (sx * sw[j]) + bias[j] (bias may be null), then relu if asked
  void (*dequantize_row)(const std::int32_t* acc, float sx, const float* sw, const float* bias, bool relu, float* y,
                         std::int64_t n);

  // --- bf16 products (framework/onednn.cpp) ---
  /// out[i] = x[i] rounded to bfloat16 (to nearest, ties to even; a NaN stays a quiet NaN)
  void (*to_bf16)(const float* x, std::uint16_t* out, std::int64_t n);
};

/// The kernels for cpu_isa() (chosen once, the same for the whole run), or the
/// override's.
const VectorKernels& vector_kernels();
/// The kernels of one instruction set (tests and benchmarks); the CPU must
/// support it (an xseq::Error otherwise).
const VectorKernels& vector_kernels_for(Isa isa);
/// Makes vector_kernels() return `kernels` from now on (tests and benchmarks
/// comparing instruction sets in one process); nullptr goes back to cpu_isa()'s.
/// Not for use while ops run on other threads.
void set_vector_kernels_override(const VectorKernels* kernels);

/// Defined by vector_kernels_{generic,avx2,avx512}.cpp.
extern const VectorKernels vector_kernels_generic;
extern const VectorKernels vector_kernels_avx2;
extern const VectorKernels vector_kernels_avx512;

}  // namespace xseq::kernels
