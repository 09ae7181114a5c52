#include <algorithm>
#include <vector>

#include "framework/ops/kernels.hpp"

namespace xseq::detail {
namespace {

// Sum of one contiguous row, in lane_sum's fixed order (independent of the
// thread count and of the row's address).
float row_sum(const float* x, std::int64_t n) {
  return lane_sum(n, [&](std::int64_t j) { return x[j]; });
}

}  // namespace

RowMap::RowMap(const Shape& out, const Shape& in) {
  const int n = out.ndim();
  if (n == 0) return;  // a 0-d output is one row of one element
  const int offset = n - in.ndim();
  std::int64_t stride = 1;
  std::int64_t strides[Shape::kMaxDims]{};
  for (int d = n - 1; d >= 0; --d) {
    const int id = d - offset;
    const std::int64_t size = id >= 0 ? in[id] : 1;
    strides[d] = (size == 1 && out[d] != 1) ? 0 : stride;
    stride *= size;
  }
  outer_ndim = n - 1;
  for (int d = 0; d < n - 1; ++d) {
    out_dims[d] = out[d];
    in_strides[d] = strides[d];
  }
  inner = out[n - 1];
  inner_stride = strides[n - 1];
  rows = inner > 0 ? out.numel() / inner : 0;
}

void reduce_add_to(const Tensor& g, Tensor& target, float scale) {
  const float* pg = g.data();
  float* pt = target.data();
  if (g.shape() == target.shape()) {
    const std::int64_t n = g.numel();
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
    for (std::int64_t i = 0; i < n; ++i) pt[i] += scale * pg[i];
    return;
  }
  const RowMap map(g.shape(), target.shape());
  const std::int64_t inner = map.inner, rows = map.rows;
  const bool parallel = g.numel() > kParallelGrain;
  // Every target element is summed by exactly one thread, in row order, so the
  // result does not depend on the thread count. Three layouts:
  // Adds row r of g into `base` (the target or a partial copy of it).
  auto add_row = [&](std::int64_t r, float* base, float factor) {
    const float* rg = pg + r * inner;
    float* rt = base + map.row_offset(r);
    if (map.inner_stride == 1) {
      for (std::int64_t j = 0; j < inner; ++j) rt[j] += factor * rg[j];
    } else {
      rt[0] += factor * row_sum(rg, inner);
    }
  };
  bool rows_distinct = true;  // no outer axis is broadcast: each g row has its own target row
  for (int d = 0; d < map.outer_ndim; ++d)
    if (map.out_dims[d] > 1 && map.in_strides[d] == 0) rows_distinct = false;
  if (rows_distinct) {
#pragma omp parallel for if (parallel) schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) add_row(r, pt, scale);
  } else {
    // Rows collide (a bias gradient summed over all tokens, a total sum): fixed
    // blocks of rows, each summed by one thread into its own partial target,
    // then the partials are added in block order. Block boundaries depend only
    // on the shape, so the result is the same for any thread count, and each
    // thread reads the rows it most likely produced in the previous kernel.
    constexpr std::int64_t kMaxBlocks = 16;
    const std::int64_t block = std::max<std::int64_t>(256, (rows + kMaxBlocks - 1) / kMaxBlocks);
    const std::int64_t blocks = (rows + block - 1) / block;
    const std::int64_t tn = target.numel();
    std::vector<float> partial(static_cast<std::size_t>(blocks * tn), 0.0f);
#pragma omp parallel for if (parallel && blocks > 1) schedule(static)
    for (std::int64_t k = 0; k < blocks; ++k)
      for (std::int64_t r = k * block; r < std::min(rows, (k + 1) * block); ++r)
        add_row(r, partial.data() + k * tn, 1.0f);
#pragma omp parallel for if (tn * blocks > kParallelGrain) schedule(static)
    for (std::int64_t i = 0; i < tn; ++i) {
      float s = 0.0f;
      for (std::int64_t k = 0; k < blocks; ++k) s += partial[k * tn + i];
      pt[i] += scale * s;
    }
  }
}

void broadcast_add_to(const Tensor& src, Tensor& target, float scale) {
  const RowMap map(target.shape(), src.shape());
  const float* ps = src.data();
  float* pt = target.data();
  const std::int64_t inner = map.inner, ss = map.inner_stride;
#pragma omp parallel for if (target.numel() > kParallelGrain) schedule(static)
  for (std::int64_t r = 0; r < map.rows; ++r) {
    const float* rs = ps + map.row_offset(r);
    float* rt = pt + r * inner;
    for (std::int64_t j = 0; j < inner; ++j) rt[j] += scale * rs[j * ss];
  }
}

Shape keepdim_shape(const Shape& x, const std::vector<int>& axes, const char* op) {
  Shape out = x;
  if (axes.empty()) {
    for (int d = 0; d < x.ndim(); ++d) out[d] = 1;
    return out;
  }
  std::vector<int> seen;
  for (int axis : axes) {
    const int a = normalize_axis(axis, x.ndim(), op);
    XSEQ_CHECK(std::find(seen.begin(), seen.end(), a) == seen.end(), op, ": axis ", axis,
               " is listed twice for shape ", x);
    seen.push_back(a);
    out[a] = 1;
  }
  return out;
}

}  // namespace xseq::detail
