// softmax and log_softmax over the last axis with an optional additive mask,
// one fused pass per row (mask add, max, exp, sum, normalise: the row kernels of
// framework/kernels/vector_kernels.hpp, for the CPU's instruction set).
//   softmax:     y = exp(z - max) / sum exp(z - max),  z = x + mask
//                dx = y * (dy - sum(dy * y))
//   log_softmax: y = z - max - log sum exp(z - max)
//                dx = dy - exp(y) * sum(dy)   (0 at masked positions)
#include "framework/kernels/vector_kernels.hpp"
#include "framework/ops.hpp"
#include "framework/ops/kernels.hpp"

namespace xseq {
namespace {

void check_mask(const char* op, const Variable& x, const Tensor& mask) {
  if (!mask.defined()) return;
  XSEQ_CHECK(x.ndim() >= 1, op, ": input must have at least one axis, got ", x.shape());
  XSEQ_CHECK(broadcasts_to(mask.shape(), x.shape()), op, ": mask of shape ",
             mask.shape(), " does not broadcast to the input's shape ", x.shape());
}

template <bool Log>
Tensor softmax_forward(const char* op, const Variable& x, const Tensor& mask) {
  check_mask(op, x, mask);
  XSEQ_CHECK(x.ndim() >= 1, op, ": input must have at least one axis, got ", x.shape());
  const Tensor& xv = x.value();
  Tensor y(xv.shape());
  const std::int64_t n = xv.dim(-1);
  const std::int64_t rows = n ? xv.numel() / n : 0;
  const detail::RowMap mmap(xv.shape(), mask.defined() ? mask.shape() : Shape{});
  const float* px = xv.data();
  const float* pm = mask.defined() ? mask.data() : nullptr;
  float* py = y.data();
  const kernels::VectorKernels& k = kernels::vector_kernels();
#pragma omp parallel for if (xv.numel() > kParallelGrain) schedule(static)
  for (std::int64_t r = 0; r < rows; ++r)
    k.softmax_row(px + r * n, pm ? pm + mmap.row_offset(r) : nullptr, mmap.inner_stride, py + r * n, n, Log);
  return y;
}

// Runs row_fn(y_row, dy_row, dx_row, n) over every row of the last axis.
void backward_rows(const Variable& x, const Tensor& y, const Tensor& gy,
                   void (*row_fn)(const float*, const float*, float*, std::int64_t)) {
  const std::int64_t n = y.dim(-1);
  const std::int64_t rows = n ? y.numel() / n : 0;
  const float* py = y.data();
  const float* pg = gy.data();
  float* gx = x.grad_buffer().data();
#pragma omp parallel for if (y.numel() > kParallelGrain) schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) row_fn(py + r * n, pg + r * n, gx + r * n, n);
}

}  // namespace

Variable softmax(const Variable& x, const Tensor& mask) {
  Tensor y = softmax_forward<false>("softmax", x, mask);
  return Variable::from_op("softmax", y, {x}, [x, y](const Tensor& gy) {
    backward_rows(x, y, gy, kernels::vector_kernels().softmax_backward_row);
  });
}

Variable log_softmax(const Variable& x, const Tensor& mask) {
  Tensor y = softmax_forward<true>("log_softmax", x, mask);
  return Variable::from_op("log_softmax", y, {x}, [x, y](const Tensor& gy) {
    backward_rows(x, y, gy, kernels::vector_kernels().log_softmax_backward_row);
  });
}

}  // namespace xseq
