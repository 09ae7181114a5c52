// masked_fill and where: selection by a constant mask.
//   masked_fill: y = mask ? value : x,   dx = mask ? 0 : dy
//   where:       y = cond ? a : b,       da = cond ? dy : 0,  db = cond ? 0 : dy
#include "framework/ops.hpp"
#include "framework/ops/kernels.hpp"

namespace xseq {

Variable masked_fill(const Variable& x, const Tensor& mask, float value) {
  XSEQ_CHECK(mask.defined(), "masked_fill: mask is undefined");
  XSEQ_CHECK(broadcasts_to(mask.shape(), x.shape()), "masked_fill: mask ",
             mask.shape(), " does not broadcast to the input's shape ", x.shape());
  Tensor y(x.shape());
  detail::binary_kernel(x.value(), mask, y, [value](float v, float m) { return m != 0.0f ? value : v; });
  return Variable::from_op("masked_fill", y, {x}, [x, mask](const Tensor& gy) {
    detail::binary_kernel<true>(gy, mask, x.grad_buffer(), [](float g, float m) { return m != 0.0f ? 0.0f : g; });
  });
}

Variable where(const Tensor& cond, const Variable& a, const Variable& b) {
  XSEQ_CHECK(cond.defined(), "where: cond is undefined");
  const Shape out = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  // Broadcast cond first so the selection is a plain two-input kernel per branch.
  Tensor c = Tensor::zeros(out);
  detail::broadcast_add_to(cond, c);
  Tensor y(out);
  detail::binary_kernel(c, a.value(), y, [](float m, float v) { return m != 0.0f ? v : 0.0f; });
  detail::binary_kernel<true>(c, b.value(), y, [](float m, float v) { return m != 0.0f ? 0.0f : v; });
  return Variable::from_op("where", y, {a, b}, [a, b, c](const Tensor& gy) {
    auto route = [&](const Variable& target, bool when_true) {
      Tensor g(gy.shape());
      detail::binary_kernel(c, gy, g, [when_true](float m, float v) { return (m != 0.0f) == when_true ? v : 0.0f; });
      detail::reduce_add_to(g, target.grad_buffer());
    };
    if (a.requires_grad()) route(a, true);
    if (b.requires_grad()) route(b, false);
  });
}

}  // namespace xseq
