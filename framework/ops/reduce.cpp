// sum, mean and max over axes.
//   sum:  y = sum_axes x;          dx += broadcast(dy)
//   mean: y = sum_axes x / count;  dx += broadcast(dy) / count
//   max:  y = max_axis x;          dx[argmax] += dy
#include <limits>

#include "framework/ops.hpp"
#include "framework/ops/kernels.hpp"

namespace xseq {
namespace {

Variable reduce_sum(const char* op, const Variable& x, const std::vector<int>& axes, bool keepdim,
                    bool average) {
  const Shape keep = detail::keepdim_shape(x.shape(), axes, op);
  Shape out;
  if (keepdim) {
    out = keep;
  } else if (!axes.empty()) {
    std::vector<bool> reduced(x.ndim(), false);
    for (int a : axes) reduced[normalize_axis(a, x.ndim(), op)] = true;
    for (int d = 0; d < x.ndim(); ++d)
      if (!reduced[d]) out.push_back(x.shape()[d]);
  }
  const std::int64_t count = keep.numel() ? x.numel() / keep.numel() : 0;
  const float scale = average ? 1.0f / float(count) : 1.0f;
  Tensor y = Tensor::zeros(keep);
  detail::reduce_add_to(x.value(), y, scale);
  y = y.reshape(out);
  return Variable::from_op(op, y, {x}, [x, keep, scale](const Tensor& gy) {
    detail::broadcast_add_to(gy.reshape(keep), x.grad_buffer(), scale);
  });
}

}  // namespace

Variable sum(const Variable& x, const std::vector<int>& axes, bool keepdim) {
  return reduce_sum("sum", x, axes, keepdim, false);
}

Variable mean(const Variable& x, const std::vector<int>& axes, bool keepdim) {
  return reduce_sum("mean", x, axes, keepdim, true);
}

Variable max(const Variable& x, int axis, bool keepdim) {
  const Shape& s = x.shape();
  const int a = normalize_axis(axis, s.ndim(), "max");
  const std::int64_t n = s[a];
  XSEQ_CHECK(n > 0, "max: axis ", axis, " of shape ", s, " is empty");
  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < a; ++d) outer *= s[d];
  for (int d = a + 1; d < s.ndim(); ++d) inner *= s[d];
  Shape out;
  for (int d = 0; d < s.ndim(); ++d) {
    if (d != a) out.push_back(s[d]);
    else if (keepdim) out.push_back(1);
  }
  Tensor y(out);
  auto argmax = std::make_shared<std::vector<std::int32_t>>(outer * inner);
  const float* px = x.value().data();
  float* py = y.data();
#pragma omp parallel for if (x.numel() > kParallelGrain) schedule(static)
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t i = 0; i < inner; ++i) {
      const float* col = px + o * n * inner + i;
      float best = col[0];
      std::int32_t best_k = 0;
      for (std::int64_t k = 1; k < n; ++k) {
        if (col[k * inner] > best) {
          best = col[k * inner];
          best_k = static_cast<std::int32_t>(k);
        }
      }
      py[o * inner + i] = best;
      (*argmax)[o * inner + i] = best_k;
    }
  }
  return Variable::from_op("max", y, {x}, [x, argmax, n, inner](const Tensor& gy) {
    float* gx = x.grad_buffer().data();
    const float* pg = gy.data();
    const std::int64_t m = gy.numel();
    for (std::int64_t j = 0; j < m; ++j) {
      const std::int64_t o = j / inner, i = j % inner;
      gx[(o * n + (*argmax)[j]) * inner + i] += pg[j];
    }
  });
}

}  // namespace xseq
