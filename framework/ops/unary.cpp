// Elementwise unary ops and scalar ops. Each op is its forward formula and its
// derivative side by side; unary_op runs them as fused loops.
#include <cmath>

#include "framework/kernels/vector_kernels.hpp"
#include "framework/ops.hpp"
#include "framework/ops/kernels.hpp"

namespace xseq {
namespace {

// The op's node: dx[i] += bwd(x[i], y[i]) * dy[i] (written, not added, into a fresh buffer).
template <class Bwd>
Variable unary_result(const char* op, const Variable& x, const Tensor& y, Bwd bwd) {
  return Variable::from_op(op, y, {x}, [x, y, bwd](const Tensor& gy) {
    bool fresh = false;
    float* gx = x.grad_slot(&fresh).data();
    const float* px = x.value().data();
    const float* py = y.data();
    const float* pg = gy.data();
    const std::int64_t n = gy.numel();
    if (fresh) {
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
      for (std::int64_t i = 0; i < n; ++i) gx[i] = bwd(px[i], py[i]) * pg[i];
    } else {
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
      for (std::int64_t i = 0; i < n; ++i) gx[i] += bwd(px[i], py[i]) * pg[i];
    }
  });
}

// y[i] = fwd(x[i]), with bwd(x, y) the derivative.
template <class Fwd, class Bwd>
Variable unary_op(const char* op, const Variable& x, Fwd fwd, Bwd bwd) {
  const Tensor& xv = x.value();
  Tensor y(xv.shape());
  const float* px = xv.data();
  float* py = y.data();
  const std::int64_t n = xv.numel();
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
  for (std::int64_t i = 0; i < n; ++i) py[i] = fwd(px[i]);
  return unary_result(op, x, y, bwd);
}

// unary_op whose forward is a per-instruction-set kernel (exp, tanh, sigmoid:
// their vmath code needs SSE4.1's rounding at least to vectorise).
template <class Bwd>
Variable unary_kernel_op(const char* op, const Variable& x, void (*fwd)(const float*, float*, std::int64_t),
                         Bwd bwd) {
  const Tensor& xv = x.value();
  Tensor y(xv.shape());
  const float* px = xv.data();
  float* py = y.data();
  detail::parallel_chunks(xv.numel(), [&](std::int64_t lo, std::int64_t hi) { fwd(px + lo, py + lo, hi - lo); });
  return unary_result(op, x, y, bwd);
}

// unary_op with the forward and backward of a per-instruction-set kernel
// (framework/kernels/vector_kernels.hpp): y = fwd(x); dx (+)= dy * f'(x).
using KernelForward = void (*)(const float* x, float* y, std::int64_t n);
using KernelBackward = void (*)(const float* x, const float* dy, float* dx, std::int64_t n, bool accumulate);

Variable kernel_op(const char* op, const Variable& x, KernelForward fwd, KernelBackward bwd) {
  const Tensor& xv = x.value();
  Tensor y(xv.shape());
  const float* px = xv.data();
  float* py = y.data();
  detail::parallel_chunks(xv.numel(), [&](std::int64_t lo, std::int64_t hi) { fwd(px + lo, py + lo, hi - lo); });
  return Variable::from_op(op, y, {x}, [x, bwd](const Tensor& gy) {
    bool fresh = false;
    float* gx = x.grad_slot(&fresh).data();
    const float* px = x.value().data();
    const float* pg = gy.data();
    detail::parallel_chunks(gy.numel(),
                            [&](std::int64_t lo, std::int64_t hi) { bwd(px + lo, pg + lo, gx + lo, hi - lo, !fresh); });
  });
}

}  // namespace

Variable add_scalar(const Variable& x, float s) {
  return unary_op("add_scalar", x, [s](float v) { return v + s; }, [](float, float) { return 1.0f; });
}

Variable mul_scalar(const Variable& x, float s) {
  return unary_op("mul_scalar", x, [s](float v) { return v * s; }, [s](float, float) { return s; });
}

Variable rsub_scalar(const Variable& x, float s) {
  return unary_op("rsub_scalar", x, [s](float v) { return s - v; }, [](float, float) { return -1.0f; });
}

// y = s / x;  dy/dx = -s / x^2 = -y / x
Variable rdiv_scalar(const Variable& x, float s) {
  return unary_op("rdiv_scalar", x, [s](float v) { return s / v; },
                  [](float v, float y) { return -y / v; });
}

Variable neg(const Variable& x) {
  return unary_op("neg", x, [](float v) { return -v; }, [](float, float) { return -1.0f; });
}

Variable relu(const Variable& x) {
  const kernels::VectorKernels& k = kernels::vector_kernels();
  return kernel_op("relu", x, k.relu, k.relu_backward);
}

// y = x * Phi(x) with Phi the standard normal CDF;  dy/dx = Phi(x) + x * phi(x)
Variable gelu(const Variable& x) {
  const kernels::VectorKernels& k = kernels::vector_kernels();
  return kernel_op("gelu", x, k.gelu, k.gelu_backward);
}

// dy/dx = 1 - y^2
Variable tanh(const Variable& x) {
  return unary_kernel_op("tanh", x, kernels::vector_kernels().tanh, [](float, float y) { return 1.0f - y * y; });
}

// dy/dx = y (1 - y)
Variable sigmoid(const Variable& x) {
  return unary_kernel_op("sigmoid", x, kernels::vector_kernels().sigmoid,
                         [](float, float y) { return y * (1.0f - y); });
}

// dy/dx = y
Variable exp(const Variable& x) {
  return unary_kernel_op("exp", x, kernels::vector_kernels().exp, [](float, float y) { return y; });
}

// dy/dx = 1 / x
Variable log(const Variable& x) {
  return unary_op("log", x, [](float v) { return std::log(v); }, [](float v, float) { return 1.0f / v; });
}

}  // namespace xseq
