// Inverted dropout. The keep mask is a pure function of (rng seed, counter),
// so backward regenerates it instead of storing it, and the mask is the same
// for any thread count. The mask itself is detail::DropoutMask (ops/kernels.hpp):
// a 32-bit hash that vectorises on AVX2 and AVX-512 (the vector kernels).
//   y = x * keep / (1 - p),  dx = dy * keep / (1 - p)
#include <cmath>

#include "framework/kernels/vector_kernels.hpp"
#include "framework/ops.hpp"
#include "framework/ops/kernels.hpp"

namespace xseq {
namespace {

// The mask's draw on the CPU's instruction set (framework/kernels/vector_kernels.hpp):
// the same bits as detail::DropoutMask(p, seed, first)(i) for element i.
void apply_mask(const float* in, float* out, std::int64_t n, float p, std::uint64_t seed, std::uint64_t first,
                bool accumulate) {
  const detail::DropoutMask mask(p, seed, first);
  const kernels::VectorKernels& k = kernels::vector_kernels();
  detail::parallel_chunks(n, [&](std::int64_t lo, std::int64_t hi) {
    k.dropout(in + lo, out + lo, hi - lo, mask.key, mask.threshold, mask.scale, static_cast<std::uint32_t>(lo),
              accumulate);
  });
}

}  // namespace

Variable dropout(const Variable& x, float p, bool training, Rng& rng) {
  XSEQ_CHECK(p >= 0.0f && p < 1.0f, "dropout: probability must be in [0, 1), got ", p);
  if (!training || p == 0.0f) return x;
  const std::int64_t n = x.numel();
  XSEQ_CHECK(n < (std::int64_t(1) << 32), "dropout: ", x.shape(), " has more than 2^32 elements");
  const std::uint64_t seed = rng.seed(), first = rng.reserve(std::uint64_t(n));
  Tensor y(x.shape());
  apply_mask(x.value().data(), y.data(), n, p, seed, first, false);
  return Variable::from_op("dropout", y, {x}, [x, p, seed, first](const Tensor& gy) {
    bool fresh = false;
    float* gx = x.grad_slot(&fresh).data();
    apply_mask(gy.data(), gx, gy.numel(), p, seed, first, !fresh);
  });
}

}  // namespace xseq
