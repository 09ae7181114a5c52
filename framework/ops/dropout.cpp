// Inverted dropout. The keep mask is a pure function of (rng seed, counter),
// so backward regenerates it instead of storing it, and the mask is the same
// for any thread count. The mask itself is detail::DropoutMask (ops/kernels.hpp):
// a 32-bit hash that vectorises on AVX2.
//   y = x * keep / (1 - p),  dx = dy * keep / (1 - p)
#include <cmath>

#include "framework/ops.hpp"
#include "framework/ops/kernels.hpp"

namespace xseq {
namespace {

template <bool Accumulate>
void apply_mask(const float* in, float* out, std::int64_t n, float p, std::uint64_t seed,
                std::uint64_t first) {
  const detail::DropoutMask mask(p, seed, first);
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = in[i] * mask(std::uint64_t(i));
    if constexpr (Accumulate) out[i] += v; else out[i] = v;
  }
}

}  // namespace

Variable dropout(const Variable& x, float p, bool training, Rng& rng) {
  XSEQ_CHECK(p >= 0.0f && p < 1.0f, "dropout: probability must be in [0, 1), got ", p);
  if (!training || p == 0.0f) return x;
  const std::int64_t n = x.numel();
  XSEQ_CHECK(n < (std::int64_t(1) << 32), "dropout: ", x.shape(), " has more than 2^32 elements");
  const std::uint64_t seed = rng.seed(), first = rng.reserve(std::uint64_t(n));
  Tensor y(x.shape());
  apply_mask<false>(x.value().data(), y.data(), n, p, seed, first);
  return Variable::from_op("dropout", y, {x}, [x, p, seed, first](const Tensor& gy) {
    bool fresh = false;
    float* gx = x.grad_slot(&fresh).data();
    if (fresh) apply_mask<false>(gy.data(), gx, gy.numel(), p, seed, first);
    else apply_mask<true>(gy.data(), gx, gy.numel(), p, seed, first);
  });
}

}  // namespace xseq
