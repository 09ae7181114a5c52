// Fused layer normalisation over the last axis. Forward caches each row's mean
// and 1/std for backward.
//   xhat = (x - mean) * rstd,  y = xhat * gamma + beta
//   dbeta  = sum_rows dy,  dgamma = sum_rows dy * xhat
//   dxhat  = dy * gamma
//   dx     = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
#include <cmath>
#include <memory>
#include <omp.h>
#include <vector>

#include "framework/ops.hpp"
#include "framework/ops/kernels.hpp"

namespace xseq {

Variable layer_norm(const Variable& x, const Variable& gamma, const Variable& beta, float eps) {
  XSEQ_CHECK(x.ndim() >= 1, "layer_norm: input must have at least one axis, got ", x.shape());
  const std::int64_t D = x.dim(-1);
  XSEQ_CHECK(gamma.shape() == Shape{D} && beta.shape() == Shape{D}, "layer_norm: gamma ", gamma.shape(),
             " and beta ", beta.shape(), " must both be (", D, ",) for input ", x.shape());
  const std::int64_t rows = D ? x.numel() / D : 0;
  Tensor y(x.shape());
  auto stats = std::make_shared<std::vector<float>>(2 * rows);  // mean, rstd per row
  const float* px = x.value().data();
  const float* pg = gamma.value().data();
  const float* pb = beta.value().data();
  float* py = y.data();
#pragma omp parallel for if (x.numel() > kParallelGrain) schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = px + r * D;
    const float mean = detail::lane_sum(D, [&](std::int64_t j) { return xr[j]; }) / float(D);
    // Two-pass variance: no cancellation for large means.
    const float var = detail::lane_sum(D, [&](std::int64_t j) { return (xr[j] - mean) * (xr[j] - mean); });
    const float rstd = 1.0f / std::sqrt(var / float(D) + eps);
    float* yr = py + r * D;
#pragma omp simd
    for (std::int64_t j = 0; j < D; ++j) yr[j] = (xr[j] - mean) * rstd * pg[j] + pb[j];
    (*stats)[2 * r] = mean;
    (*stats)[2 * r + 1] = rstd;
  }

  return Variable::from_op("layer_norm", y, {x, gamma, beta}, [x, gamma, beta, stats, D, rows](
                                                                   const Tensor& gy) {
    const float* px = x.value().data();
    const float* pgam = gamma.value().data();
    const float* pdy = gy.data();
    float* dx = x.requires_grad() ? x.grad_buffer().data() : nullptr;
    const bool want_params = gamma.requires_grad() || beta.requires_grad();
    // Per-thread partial sums for dgamma/dbeta, added in thread order so the
    // result is the same on every run with the same thread count.
    const int threads = x.numel() > kParallelGrain ? omp_get_max_threads() : 1;
    std::vector<float> partial(want_params ? std::size_t(threads) * 2 * D : 0, 0.0f);
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num();
      float* dgam = want_params ? partial.data() + std::size_t(t) * 2 * D : nullptr;
      float* dbet = want_params ? dgam + D : nullptr;
#pragma omp for schedule(static)
      for (std::int64_t r = 0; r < rows; ++r) {
        const float mean = (*stats)[2 * r], rstd = (*stats)[2 * r + 1];
        const float* xr = px + r * D;
        const float* gr = pdy + r * D;
        float sum_dxhat = 0.0f, sum_dxhat_xhat = 0.0f;
#pragma omp simd reduction(+ : sum_dxhat, sum_dxhat_xhat)
        for (std::int64_t j = 0; j < D; ++j) {
          const float xhat = (xr[j] - mean) * rstd;
          const float dxhat = gr[j] * pgam[j];
          sum_dxhat += dxhat;
          sum_dxhat_xhat += dxhat * xhat;
          if (dgam) {
            dgam[j] += gr[j] * xhat;
            dbet[j] += gr[j];
          }
        }
        if (dx) {
          const float m1 = sum_dxhat / float(D), m2 = sum_dxhat_xhat / float(D);
          float* dr = dx + r * D;
#pragma omp simd
          for (std::int64_t j = 0; j < D; ++j) {
            const float xhat = (xr[j] - mean) * rstd;
            dr[j] += rstd * (gr[j] * pgam[j] - m1 - xhat * m2);
          }
        }
      }
    }
    if (!want_params) return;
    float* dgamma = gamma.requires_grad() ? gamma.grad_buffer().data() : nullptr;
    float* dbeta = beta.requires_grad() ? beta.grad_buffer().data() : nullptr;
    for (int t = 0; t < threads; ++t) {
      const float* part = partial.data() + std::size_t(t) * 2 * D;
      for (std::int64_t j = 0; j < D; ++j) {
        if (dgamma) dgamma[j] += part[j];
        if (dbeta) dbeta[j] += part[D + j];
      }
    }
  });
}

}  // namespace xseq
