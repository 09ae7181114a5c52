// linear: y = x W^T + b over the last axis of x, in nn.Linear's layout (W is
// (out, in)), optionally followed by relu in the same op. One GEMM that starts
// from the bias rows, so the bias costs no extra pass over y and no broadcast
// temporary; relu is applied in place and its backward reads the mask from y.
//   dz = dy (or dy * [y > 0] with relu)
//   dx = dz W,   dW += dz^T x,   db += sum of dz over all rows
// Fresh gradient buffers are written by the GEMMs (beta 0), never zero-filled.
#include <algorithm>

#include <omp.h>

#include "framework/blas.hpp"
#include "framework/kernels/vector_kernels.hpp"
#include "framework/ops.hpp"
#include "framework/ops/kernels.hpp"
#include "framework/precision.hpp"
#include "framework/profiler.hpp"
#include "framework/quantize.hpp"

namespace xseq {

Variable linear(const Variable& x, const Variable& w, const Variable& b, bool relu) {
  XSEQ_CHECK(w.ndim() == 2, "linear: weight must be (out, in), got ", w.shape());
  const std::int64_t out = w.dim(0), in = w.dim(1);
  XSEQ_CHECK(x.ndim() >= 1 && x.dim(-1) == in, "linear: input ", x.shape(), " must end in ", in,
             " features (weight ", w.shape(), ")");
  XSEQ_CHECK(!b.defined() || b.shape() == Shape{out}, "linear: bias ", b.shape(), " must be (", out, ",)");
  const std::int64_t rows = x.numel() / std::max<std::int64_t>(in, 1);
  std::vector<std::int64_t> dims = x.shape().vec();
  dims.back() = out;
  Tensor y{Shape(dims)};
  float* py = y.data();
  // Inference on a quantised checkpoint: the weight's int8 copy (framework/quantize.hpp).
  if (const QuantizedMatrix* q = w.int8_weights(); q && !grad_enabled() && product_precision() == Precision::int8) {
    int8_linear(x.value().data(), rows, *q, b.defined() ? b.value().data() : nullptr, relu, py);
    if (profiler::enabled()) profiler::record_forward(relu ? "linear_relu (int8)" : "linear (int8)");
    return Variable(y);
  }
  if (b.defined()) {
    const float* pb = b.value().data();
#pragma omp parallel for if (rows * out > kParallelGrain) schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) std::copy(pb, pb + out, py + r * out);
  }
  gemm(false, true, rows, out, in, 1.0f, x.value().data(), in, w.value().data(), in, b.defined() ? 1.0f : 0.0f,
       py, out);
  if (relu) {
    const auto relu_kernel = kernels::vector_kernels().relu;
    detail::parallel_chunks(rows * out, [&](std::int64_t lo, std::int64_t hi) { relu_kernel(py + lo, py + lo, hi - lo); });
  }

  std::vector<Variable> inputs{x, w};
  if (b.defined()) inputs.push_back(b);
  return Variable::from_op(relu ? "linear_relu" : "linear", y, std::move(inputs), [x, w, b, y, relu, rows, out,
                                                                                   in](const Tensor& gy) {
    const float* dy = gy.data();
    Tensor masked;  // dy * [y > 0] with relu
    if (relu) {
      masked = Tensor(gy.shape());
      const float* py = y.data();
      float* pm = masked.data();
      const auto relu_backward = kernels::vector_kernels().relu_backward;
      detail::parallel_chunks(rows * out, [&](std::int64_t lo, std::int64_t hi) {
        relu_backward(py + lo, dy + lo, pm + lo, hi - lo, false);
      });
      dy = pm;
    }
    bool fresh_x = false, fresh_w = false;
    float* dx = x.requires_grad() ? x.grad_slot(&fresh_x).data() : nullptr;
    const GemmKernel kernel = gemm_kernel();
    float* dw = w.requires_grad() ? w.grad_slot(&fresh_w).data() : nullptr;
    const float* pw = w.value().data();
    const float* px = x.value().data();
    // Inside another parallel region (a custom layer's own loop) the team would be 1.
    const int threads = omp_in_parallel() ? 1 : num_threads();
    if (dx && dw && threads > 1 && kernel == GemmKernel::blas) {
      // The two products have the same FLOP count and are independent: run them
      // side by side, each block a band of rows of one of them with serial BLAS
      // (7-10% faster per training step than one after the other). The blocks are
      // a work-shared loop, not one per thread id: if the runtime grants a smaller
      // team (OMP_THREAD_LIMIT, OMP_DYNAMIC) every block still runs, and the
      // blocking (so the result) depends only on the requested thread count.
      const int for_x = threads - threads / 2, for_w = threads / 2;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
      for (int block = 0; block < threads; ++block) {
        if (block < for_x)
          gemm_rows(block, for_x, false, false, rows, in, out, 1.0f, dy, out, pw, in, fresh_x ? 0.0f : 1.0f, dx, in);
        else
          gemm_rows(block - for_x, for_w, true, false, out, in, rows, 1.0f, dy, out, px, in, fresh_w ? 0.0f : 1.0f,
                    dw, in);
      }
    } else {
      if (dx) gemm(kernel, false, false, rows, in, out, 1.0f, dy, out, pw, in, fresh_x ? 0.0f : 1.0f, dx, in);
      if (dw) gemm(kernel, true, false, out, in, rows, 1.0f, dy, out, px, in, fresh_w ? 0.0f : 1.0f, dw, in);
    }
    if (b.defined() && b.requires_grad()) detail::reduce_add_to(relu ? masked : gy, b.grad_buffer());
  });
}

}  // namespace xseq
