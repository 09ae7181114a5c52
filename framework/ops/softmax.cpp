// softmax and log_softmax over the last axis with an optional additive mask,
// one fused pass per row (mask add, max, exp, sum, normalise).
//   softmax:     y = exp(z - max) / sum exp(z - max),  z = x + mask
//                dx = y * (dy - sum(dy * y))
//   log_softmax: y = z - max - log sum exp(z - max)
//                dx = dy - exp(y) * sum(dy)   (0 at masked positions)
#include <cmath>
#include <limits>

#include "framework/ops.hpp"
#include "framework/ops/kernels.hpp"
#include "framework/ops/vmath.hpp"

namespace xseq {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void check_mask(const char* op, const Variable& x, const Tensor& mask) {
  if (!mask.defined()) return;
  XSEQ_CHECK(x.ndim() >= 1, op, ": input must have at least one axis, got ", x.shape());
  XSEQ_CHECK(broadcasts_to(mask.shape(), x.shape()), op, ": mask of shape ",
             mask.shape(), " does not broadcast to the input's shape ", x.shape());
}

// Computes one row: writes z = x + mask into y, returns the row maximum.
// The mask's last axis is either full (stride 1) or broadcast (stride 0).
inline float masked_row(const float* x, const float* m, std::int64_t m_stride, float* y, std::int64_t n) {
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

template <bool Log>
Tensor softmax_forward(const char* op, const Variable& x, const Tensor& mask) {
  check_mask(op, x, mask);
  XSEQ_CHECK(x.ndim() >= 1, op, ": input must have at least one axis, got ", x.shape());
  const Tensor& xv = x.value();
  Tensor y(xv.shape());
  const std::int64_t n = xv.dim(-1);
  const std::int64_t rows = n ? xv.numel() / n : 0;
  const detail::RowMap mmap(xv.shape(), mask.defined() ? mask.shape() : Shape{});
  const float* px = xv.data();
  const float* pm = mask.defined() ? mask.data() : nullptr;
  float* py = y.data();
#pragma omp parallel for if (xv.numel() > kParallelGrain) schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    float* yr = py + r * n;
    const float mx = masked_row(px + r * n, pm ? pm + mmap.row_offset(r) : nullptr, mmap.inner_stride, yr, n);
    if (mx == kNegInf) {  // every position masked
      for (std::int64_t j = 0; j < n; ++j) yr[j] = Log ? kNegInf : 0.0f;
      continue;
    }
    if (Log) {
      const float total = detail::lane_sum(detail::unmasked_length(yr, n),
                                           [&](std::int64_t j) { return vmath::exp(yr[j] - mx); });
      const float shift = mx + std::log(total);
#pragma omp simd
      for (std::int64_t j = 0; j < n; ++j) yr[j] -= shift;
    } else {
      detail::exp_normalize(yr, n, mx);
    }
  }
  return y;
}

// Runs row_fn(y_row, dy_row, dx_row, n) over every row of the last axis.
template <class RowFn>
void backward_rows(const Variable& x, const Tensor& y, const Tensor& gy, RowFn row_fn) {
  const std::int64_t n = y.dim(-1);
  const std::int64_t rows = n ? y.numel() / n : 0;
  const float* py = y.data();
  const float* pg = gy.data();
  float* gx = x.grad_buffer().data();
#pragma omp parallel for if (y.numel() > kParallelGrain) schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) row_fn(py + r * n, pg + r * n, gx + r * n, n);
}

}  // namespace

Variable softmax(const Variable& x, const Tensor& mask) {
  Tensor y = softmax_forward<false>("softmax", x, mask);
  return Variable::from_op("softmax", y, {x}, [x, y](const Tensor& gy) {
    backward_rows(x, y, gy, [](const float* yr, const float* gr, float* dx, std::int64_t n) {
      float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
      for (std::int64_t j = 0; j < n; ++j) dot += gr[j] * yr[j];
#pragma omp simd
      for (std::int64_t j = 0; j < n; ++j) dx[j] += yr[j] * (gr[j] - dot);
    });
  });
}

Variable log_softmax(const Variable& x, const Tensor& mask) {
  Tensor y = softmax_forward<true>("log_softmax", x, mask);
  return Variable::from_op("log_softmax", y, {x}, [x, y](const Tensor& gy) {
    backward_rows(x, y, gy, [](const float* yr, const float* gr, float* dx, std::int64_t n) {
      float total = 0.0f;
#pragma omp simd reduction(+ : total)
      for (std::int64_t j = 0; j < n; ++j) total += yr[j] != kNegInf ? gr[j] : 0.0f;
#pragma omp simd
      for (std::int64_t j = 0; j < n; ++j) dx[j] += yr[j] != kNegInf ? gr[j] - vmath::exp(yr[j]) * total : 0.0f;
    });
  });
}

}  // namespace xseq
