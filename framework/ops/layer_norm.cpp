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

#include "framework/kernels/vector_kernels.hpp"
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
  const kernels::VectorKernels& k = kernels::vector_kernels();
#pragma omp parallel for if (x.numel() > kParallelGrain) schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) k.layer_norm_row(px + r * D, pg, pb, eps, D, py + r * D, stats->data() + 2 * r);

  return Variable::from_op("layer_norm", y, {x, gamma, beta}, [x, gamma, beta, stats, D, rows](
                                                                   const Tensor& gy) {
    const float* px = x.value().data();
    const float* pgam = gamma.value().data();
    const float* pdy = gy.data();
    float* dx = x.requires_grad() ? x.grad_buffer().data() : nullptr;
    const bool want_params = gamma.requires_grad() || beta.requires_grad();
    const kernels::VectorKernels& k = kernels::vector_kernels();
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
      for (std::int64_t r = 0; r < rows; ++r)
        k.layer_norm_backward_row(px + r * D, pgam, pdy + r * D, stats->data() + 2 * r, D, dx ? dx + r * D : nullptr,
                                  dgam, dbet);
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
