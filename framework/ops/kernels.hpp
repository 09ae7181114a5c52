// Internal helpers shared by the op files: broadcasting row iterators, the
// generic broadcast loop, and broadcast-aware reductions. Not part of the
// public API.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include <omp.h>

#include "framework/kernels/row_math.hpp"
#include "framework/ops/vmath.hpp"
#include "framework/parallel.hpp"
#include "framework/random.hpp"
#include "framework/tensor.hpp"

namespace xseq::detail {

/// Walks an output shape row by row (a row = the last axis) and gives, for
/// each row, the offset of the matching row of a broadcast input and the
/// input's stride along the last axis (1, or 0 when that axis is broadcast).
struct RowMap {
  int outer_ndim = 0;  // axes before the last one
  std::int64_t out_dims[Shape::kMaxDims]{};
  std::int64_t in_strides[Shape::kMaxDims]{};
  std::int64_t inner = 1;         // length of the output's last axis
  std::int64_t inner_stride = 1;  // input stride along it (0 or 1)
  std::int64_t rows = 1;

  /// `in` must broadcast to `out`.
  RowMap(const Shape& out, const Shape& in);

  std::int64_t row_offset(std::int64_t row) const {
    std::int64_t off = 0;
    for (int d = outer_ndim - 1; d >= 0; --d) {
      const std::int64_t i = row % out_dims[d];
      row /= out_dims[d];
      off += i * in_strides[d];
    }
    return off;
  }
};

/// out = f(a, b) elementwise with broadcasting; `out` has the broadcast shape.
/// With Accumulate, out += f(a, b).
template <bool Accumulate = false, class F>
void binary_kernel(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const float* pa = a.data();
  const float* pb = b.data();
  float* po = out.data();
  const std::int64_t n = out.numel();
  auto store = [](float& dst, float v) {
    if constexpr (Accumulate) dst += v; else dst = v;
  };
  if (a.shape() == out.shape() && b.shape() == out.shape()) {
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
    for (std::int64_t i = 0; i < n; ++i) store(po[i], f(pa[i], pb[i]));
    return;
  }
  if (a.shape() == out.shape() && b.numel() == 1) {
    const float s = pb[0];
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
    for (std::int64_t i = 0; i < n; ++i) store(po[i], f(pa[i], s));
    return;
  }
  const RowMap ma(out.shape(), a.shape()), mb(out.shape(), b.shape());
  const std::int64_t inner = ma.inner, sa = ma.inner_stride, sb = mb.inner_stride;
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
  for (std::int64_t r = 0; r < ma.rows; ++r) {
    const float* ra = pa + ma.row_offset(r);
    const float* rb = pb + mb.row_offset(r);
    float* ro = po + r * inner;
    for (std::int64_t j = 0; j < inner; ++j) store(ro[j], f(ra[j * sa], rb[j * sb]));
  }
}

/// The keep mask of one dropout draw (ops/dropout.cpp, the attention weights in
/// ops/attention.cpp): element i of a draw of counters [first, first + n) keeps
/// its value, scaled by 1/(1-p), when the top 24 bits of hash32(key, i) are >= p
/// as a 24-bit integer (integer compare so the loop vectorises); the key comes
/// from the Rng's 64-bit stream at `first`. A pure function of (seed, first, i):
/// backward regenerates it.
struct DropoutMask {
  std::uint32_t key;
  std::int32_t threshold;
  float scale;
  DropoutMask(float p, std::uint64_t seed, std::uint64_t first)
      : key(static_cast<std::uint32_t>(Rng::hash(seed, first))),
        threshold(static_cast<std::int32_t>(std::ceil(double(p) * 16777216.0))),
        scale(1.0f / (1.0f - p)) {}
  /// The factor for element i: 1/(1-p) or 0.
  float operator()(std::uint64_t i) const {
    const auto bits = static_cast<std::int32_t>(Rng::hash32(key, static_cast<std::uint32_t>(i)) >> 8);
    return bits >= threshold ? scale : 0.0f;
  }
};

/// Runs f(lo, hi) over [0, n) in one contiguous chunk per thread, on one thread
/// below kParallelGrain elements: for the elementwise kernels of
/// framework/kernels/vector_kernels.hpp, whose results do not depend on the chunks.
template <class F>
void parallel_chunks(std::int64_t n, F f) {
  if (n <= kParallelGrain) {
    if (n > 0) f(std::int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const std::int64_t t = omp_get_thread_num(), threads = omp_get_num_threads();
    const std::int64_t lo = n * t / threads, hi = n * (t + 1) / threads;
    if (lo < hi) f(lo, hi);
  }
}

/// target += scale * (g summed over the axes along which target is broadcast).
/// target's shape must broadcast to g's shape.
void reduce_add_to(const Tensor& g, Tensor& target, float scale = 1.0f);

/// target += scale * broadcast(src); src's shape must broadcast to target's shape.
void broadcast_add_to(const Tensor& src, Tensor& target, float scale = 1.0f);

/// Shape of x reduced over `axes` with the reduced axes kept as size 1.
Shape keepdim_shape(const Shape& x, const std::vector<int>& axes, const char* op);

}  // namespace xseq::detail
