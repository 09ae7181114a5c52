// Inverted dropout. The keep mask is a pure function of (rng seed, counter),
// so backward regenerates it instead of storing it, and the mask is the same
// for any thread count. Element i of a draw hashes (key, i) with a 32-bit mixer
// (vectorises on AVX2); the key comes from the Rng's 64-bit stream.
//   y = x * keep / (1 - p),  dx = dy * keep / (1 - p)
#include <cmath>

#include "framework/ops.hpp"
#include "framework/ops/kernels.hpp"

namespace xseq {
namespace {

template <bool Accumulate>
void apply_mask(const float* in, float* out, std::int64_t n, float p, std::uint64_t seed,
                std::uint64_t first) {
  const auto key = static_cast<std::uint32_t>(Rng::hash(seed, first));
  const float scale = 1.0f / (1.0f - p);
  // Keep when the top 24 bits of the hash, as a uniform in [0, 1), are >= p
  // (compared as integers so the loop vectorises).
  const std::int32_t threshold = static_cast<std::int32_t>(std::ceil(double(p) * 16777216.0));
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
  for (std::int64_t i = 0; i < n; ++i) {
    const auto bits = static_cast<std::int32_t>(Rng::hash32(key, static_cast<std::uint32_t>(i)) >> 8);
    const float v = in[i] * (bits >= threshold ? scale : 0.0f);
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
