// add, sub, mul, div with numpy-style broadcasting.
// Backward reduces each input's gradient over the axes it was broadcast along.
#include "framework/ops.hpp"
#include "framework/ops/kernels.hpp"

namespace xseq {
namespace {

// grad(target) += reduce_to_target_shape(f(gy, other)).
template <class F>
void accumulate_grad_of(const Variable& target, const Tensor& gy, const Tensor& other, F f) {
  Tensor& g = target.grad_buffer();
  if (g.shape() == gy.shape()) {
    detail::binary_kernel<true>(gy, other, g, f);
  } else {
    Tensor tmp(gy.shape());
    detail::binary_kernel(gy, other, tmp, f);
    detail::reduce_add_to(tmp, g);
  }
}

// grad(target) += scale * reduce_to_target_shape(gy); a fresh same-shaped buffer is written.
void pass_grad_to(const Variable& target, const Tensor& gy, float scale = 1.0f) {
  if (target.has_grad() || target.shape() != gy.shape()) {
    detail::reduce_add_to(gy, target.grad_buffer(), scale);
    return;
  }
  bool fresh = false;
  float* g = target.grad_slot(&fresh).data();
  const float* pg = gy.data();
  const std::int64_t n = gy.numel();
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
  for (std::int64_t i = 0; i < n; ++i) g[i] = scale * pg[i];
}

template <class F>
Tensor broadcast_forward(const char* op, const Variable& a, const Variable& b, F f) {
  Tensor y(broadcast_shapes(a.shape(), b.shape(), op));
  detail::binary_kernel(a.value(), b.value(), y, f);
  return y;
}

}  // namespace

// y = a + b;  da = dy,  db = dy
Variable add(const Variable& a, const Variable& b) {
  Tensor y = broadcast_forward("add", a, b, [](float x, float z) { return x + z; });
  return Variable::from_op("add", y, {a, b}, [a, b](const Tensor& gy) {
    if (a.requires_grad()) pass_grad_to(a, gy);
    if (b.requires_grad()) pass_grad_to(b, gy);
  });
}

// y = a - b;  da = dy,  db = -dy
Variable sub(const Variable& a, const Variable& b) {
  Tensor y = broadcast_forward("sub", a, b, [](float x, float z) { return x - z; });
  return Variable::from_op("sub", y, {a, b}, [a, b](const Tensor& gy) {
    if (a.requires_grad()) pass_grad_to(a, gy);
    if (b.requires_grad()) pass_grad_to(b, gy, -1.0f);
  });
}

// y = a * b;  da = dy * b,  db = dy * a
Variable mul(const Variable& a, const Variable& b) {
  Tensor y = broadcast_forward("mul", a, b, [](float x, float z) { return x * z; });
  return Variable::from_op("mul", y, {a, b}, [a, b](const Tensor& gy) {
    auto times = [](float g, float v) { return g * v; };
    if (a.requires_grad()) accumulate_grad_of(a, gy, b.value(), times);
    if (b.requires_grad()) accumulate_grad_of(b, gy, a.value(), times);
  });
}

// y = a / b;  da = dy / b,  db = -dy * a / b^2 = -(dy * y) / b
Variable div(const Variable& a, const Variable& b) {
  Tensor y = broadcast_forward("div", a, b, [](float x, float z) { return x / z; });
  return Variable::from_op("div", y, {a, b}, [a, b, y](const Tensor& gy) {
    if (a.requires_grad())
      accumulate_grad_of(a, gy, b.value(), [](float g, float v) { return g / v; });
    if (b.requires_grad()) {
      Tensor gy_y(gy.shape());
      detail::binary_kernel(gy, y, gy_y, [](float g, float v) { return g * v; });
      accumulate_grad_of(b, gy_y, b.value(), [](float t, float v) { return -t / v; });
    }
  });
}

}  // namespace xseq
