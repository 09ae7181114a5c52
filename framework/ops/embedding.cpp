// Embedding lookup: gather rows forward, scatter-add rows backward.
//   y[i, :] = W[ids[i], :],   dW[ids[i], :] += dy[i, :]  (except the padding row)
#include <algorithm>
#include <cstring>

#include <omp.h>

#include "framework/ops.hpp"
#include "framework/ops/kernels.hpp"

namespace xseq {

Variable embedding(const Variable& weight, const IndexTensor& ids, int padding_idx) {
  XSEQ_CHECK(weight.ndim() == 2, "embedding: weight must be (vocab, dim), got ", weight.shape());
  const std::int64_t V = weight.dim(0), D = weight.dim(1);
  XSEQ_CHECK(padding_idx < V, "embedding: padding index ", padding_idx, " is outside the vocabulary of ", V);
  const std::int64_t n = ids.numel();
  for (std::int64_t i = 0; i < n; ++i)
    XSEQ_CHECK(ids.data[i] >= 0 && ids.data[i] < V, "embedding: id ", ids.data[i], " at position ", i,
               " of ids ", ids.shape, " is out of range for a vocabulary of ", V);
  Shape out = ids.shape;
  out.push_back(D);
  Tensor y(out);
  const float* pw = weight.value().data();
  float* py = y.data();
#pragma omp parallel for if (n * D > kParallelGrain) schedule(static)
  for (std::int64_t i = 0; i < n; ++i) std::memcpy(py + i * D, pw + std::int64_t(ids.data[i]) * D, sizeof(float) * D);

  return Variable::from_op("embedding", y, {weight}, [weight, ids, padding_idx, D](const Tensor& gy) {
    float* gw = weight.grad_buffer().data();
    const float* pg = gy.data();
    const std::int64_t n = ids.numel();
    // Several positions may hit the same row: each thread takes one contiguous
    // range of columns and adds every position's slice of it, in position
    // order. Each element is summed by one thread in the same order whatever the
    // thread count, so the result never depends on it.
#pragma omp parallel if (n * D > kParallelGrain && D >= 32)
    {
      const std::int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
      const std::int64_t per = (D + threads - 1) / threads;
      const std::int64_t j0 = std::min(D, t * per), j1 = std::min(D, j0 + per);
      for (std::int64_t i = 0; i < n; ++i) {
        const std::int32_t id = ids.data[i];
        if (id == padding_idx) continue;
        float* row = gw + std::int64_t(id) * D;
        const float* g = pg + i * D;
#pragma omp simd
        for (std::int64_t j = j0; j < j1; ++j) row[j] += g[j];
      }
    }
  });
}

}  // namespace xseq
