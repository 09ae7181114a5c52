// reshape, permute/transpose, concat, split, narrow. Everything but reshape
// copies (tensors are always contiguous); backward moves the gradient back.
#include <algorithm>
#include <cstring>

#include "framework/ops.hpp"
#include "framework/ops/kernels.hpp"

namespace xseq {
namespace {

// dst = permute(src, perm) (or dst += with Accumulate): output axis i is input axis perm[i].
template <bool Accumulate>
void permute_kernel(const Tensor& src, const std::vector<int>& perm, Tensor& dst) {
  const Shape& in = src.shape();
  const Shape& out = dst.shape();
  const int n = in.ndim();
  const auto in_strides = contiguous_strides(in);
  std::int64_t strides[Shape::kMaxDims];  // input stride of each output axis
  for (int i = 0; i < n; ++i) strides[i] = in_strides[perm[i]];
  const std::int64_t inner = out.dim(-1), inner_stride = strides[n - 1];
  const std::int64_t rows = inner ? out.numel() / inner : 0;
  const float* ps = src.data();
  float* pd = dst.data();
#pragma omp parallel for if (out.numel() > kParallelGrain) schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t rem = r, off = 0;
    for (int d = n - 2; d >= 0; --d) {
      off += (rem % out[d]) * strides[d];
      rem /= out[d];
    }
    const float* s = ps + off;
    float* o = pd + r * inner;
    for (std::int64_t j = 0; j < inner; ++j) {
      if constexpr (Accumulate) o[j] += s[j * inner_stride]; else o[j] = s[j * inner_stride];
    }
  }
}

// Copies (or adds) a block [start, start+len) of `axis` between a full tensor
// and a narrow one. Both are viewed as (outer, axis_len, inner).
struct AxisBlocks {
  std::int64_t outer = 1, inner = 1;
  AxisBlocks(const Shape& s, int axis) {
    for (int d = 0; d < axis; ++d) outer *= s[d];
    for (int d = axis + 1; d < s.ndim(); ++d) inner *= s[d];
  }
};

// dst[:, dst_start : dst_start+len, :] (+)= src[:, src_start : src_start+len, :]
template <bool Accumulate>
void copy_axis_block(const float* src, std::int64_t src_len, std::int64_t src_start, float* dst,
                     std::int64_t dst_len, std::int64_t dst_start, std::int64_t len,
                     const AxisBlocks& b) {
  const std::int64_t chunk = len * b.inner;
  if (chunk == 0 || b.outer == 0) return;
#pragma omp parallel for if (b.outer * chunk > kParallelGrain) schedule(static)
  for (std::int64_t o = 0; o < b.outer; ++o) {
    const float* s = src + (o * src_len + src_start) * b.inner;
    float* d = dst + (o * dst_len + dst_start) * b.inner;
    if constexpr (Accumulate) {
      for (std::int64_t j = 0; j < chunk; ++j) d[j] += s[j];
    } else {
      std::memcpy(d, s, sizeof(float) * chunk);
    }
  }
}

}  // namespace

Variable reshape(const Variable& x, const std::vector<std::int64_t>& dims) {
  Tensor y = x.value().reshape(dims);
  return Variable::from_op("reshape", y, {x}, [x](const Tensor& gy) {
    detail::reduce_add_to(gy.reshape(x.shape()), x.grad_buffer());
  });
}

Variable permute(const Variable& x, const std::vector<int>& dims) {
  const int n = x.ndim();
  XSEQ_CHECK(static_cast<int>(dims.size()) == n, "permute: ", dims.size(), " axes given for a tensor of shape ",
             x.shape());
  std::vector<int> perm(n), inverse(n, -1);
  for (int i = 0; i < n; ++i) {
    perm[i] = normalize_axis(dims[i], n, "permute");
    XSEQ_CHECK(inverse[perm[i]] < 0, "permute: axis ", dims[i], " appears twice (shape ", x.shape(), ")");
    inverse[perm[i]] = i;
  }
  Shape out;
  for (int i = 0; i < n; ++i) out.push_back(x.shape()[perm[i]]);
  Tensor y(out);
  if (n > 0) permute_kernel<false>(x.value(), perm, y);
  return Variable::from_op("permute", y, {x}, [x, inverse](const Tensor& gy) {
    if (gy.ndim() > 0) permute_kernel<true>(gy, inverse, x.grad_buffer());
  });
}

Variable transpose(const Variable& x, int axis0, int axis1) {
  std::vector<int> perm(x.ndim());
  for (int i = 0; i < x.ndim(); ++i) perm[i] = i;
  std::swap(perm[normalize_axis(axis0, x.ndim(), "transpose")], perm[normalize_axis(axis1, x.ndim(), "transpose")]);
  return permute(x, perm);
}

Variable concat(const std::vector<Variable>& xs, int axis) {
  XSEQ_CHECK(!xs.empty(), "concat: needs at least one input");
  const Shape& first = xs[0].shape();
  const int a = normalize_axis(axis, first.ndim(), "concat");
  Shape out = first;
  out[a] = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Shape& s = xs[i].shape();
    bool same = s.ndim() == first.ndim();
    for (int d = 0; same && d < s.ndim(); ++d) same = (d == a || s[d] == first[d]);
    XSEQ_CHECK(same, "concat: input ", i, " has shape ", s, ", expected ", first,
               " except along axis ", axis);
    out[a] += s[a];
  }
  Tensor y(out);
  const AxisBlocks blocks(out, a);
  std::int64_t start = 0;
  std::vector<std::int64_t> starts;
  for (const auto& x : xs) {
    const std::int64_t len = x.shape()[a];
    copy_axis_block<false>(x.value().data(), len, 0, y.data(), out[a], start, len, blocks);
    starts.push_back(start);
    start += len;
  }
  return Variable::from_op("concat", y, xs, [xs, starts, a, blocks](const Tensor& gy) {
    const std::int64_t total = gy.shape()[a];
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (!xs[i].requires_grad()) continue;
      const std::int64_t len = xs[i].shape()[a];
      copy_axis_block<true>(gy.data(), total, starts[i], xs[i].grad_buffer().data(), len, 0, len, blocks);
    }
  });
}

// stack = concat of the inputs, each reshaped with a size-1 axis inserted;
// both pieces are differentiable, so no backward of its own is needed.
Variable stack(const std::vector<Variable>& xs, int axis) {
  XSEQ_CHECK(!xs.empty(), "stack: needs at least one input");
  const Shape& first = xs[0].shape();
  const int a = normalize_axis(axis, first.ndim() + 1, "stack");
  std::vector<std::int64_t> dims = first.vec();
  dims.insert(dims.begin() + a, 1);
  std::vector<Variable> expanded;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    XSEQ_CHECK(xs[i].shape() == first, "stack: input ", i, " has shape ", xs[i].shape(), ", expected ", first,
               " like input 0");
    expanded.push_back(reshape(xs[i], dims));
  }
  return concat(expanded, a);
}

Variable narrow(const Variable& x, int axis, std::int64_t start, std::int64_t length) {
  const int a = normalize_axis(axis, x.ndim(), "narrow");
  const std::int64_t size = x.shape()[a];
  XSEQ_CHECK(start >= 0 && length >= 0 && start + length <= size, "narrow: range [", start, ", ",
             start + length, ") is out of bounds for axis ", axis, " of shape ", x.shape());
  Shape out = x.shape();
  out[a] = length;
  Tensor y(out);
  const AxisBlocks blocks(out, a);
  copy_axis_block<false>(x.value().data(), size, start, y.data(), length, 0, length, blocks);
  return Variable::from_op("narrow", y, {x}, [x, a, start, length, size, blocks](const Tensor& gy) {
    copy_axis_block<true>(gy.data(), length, 0, x.grad_buffer().data(), size, start, length, blocks);
  });
}

std::vector<Variable> split(const Variable& x, const std::vector<std::int64_t>& sizes, int axis) {
  const int a = normalize_axis(axis, x.ndim(), "split");
  std::int64_t total = 0;
  for (auto s : sizes) total += s;
  XSEQ_CHECK(total == x.shape()[a], "split: sizes add up to ", total, " but axis ", axis, " of shape ",
             x.shape(), " has ", x.shape()[a]);
  std::vector<Variable> parts;
  std::int64_t start = 0;
  for (auto s : sizes) {
    parts.push_back(narrow(x, a, start, s));
    start += s;
  }
  return parts;
}

}  // namespace xseq
