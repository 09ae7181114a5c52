// matmul: every product goes to BLAS sgemm; transposes are GEMM flags, never copies.
//
// C = op(A) op(B). Backward (each accumulates with beta = 1):
//   dA = dC op(B)^T          (stored as op(A)'s transpose when transpose_a)
//   dB = op(A)^T dC          (likewise for transpose_b)
// Written as GEMMs on the stored (untransposed) operands:
//   !ta: dA = gemm(dC, B, false, !tb)      ta: dA = gemm(B, dC, tb, true)
//   !tb: dB = gemm(A, dC, !ta, false)      tb: dB = gemm(dC, A, true, ta)
#include "framework/blas.hpp"
#include "framework/ops.hpp"
#include "framework/precision.hpp"
#include "framework/profiler.hpp"
#include "framework/quantize.hpp"

namespace xseq {
namespace {

// The GEMMs one matmul runs: `batch` products of op(a) (M x K) and op(b) (K x N).
struct MatmulPlan {
  std::int64_t batch, M, N, K;
  std::int64_t stride_a, stride_b;  // elements between consecutive matrices (0 = shared)
  Shape out_shape;
};

MatmulPlan plan_matmul(const Shape& as, const Shape& bs, bool ta, bool tb) {
  XSEQ_CHECK(as.ndim() >= 2 && bs.ndim() >= 2, "matmul: both operands need at least 2 dimensions, got a ",
             as, " and b ", bs);
  MatmulPlan p{};
  const std::int64_t a_rows = as.dim(-2), a_cols = as.dim(-1);
  const std::int64_t b_rows = bs.dim(-2), b_cols = bs.dim(-1);
  const std::int64_t K_a = ta ? a_rows : a_cols;
  const std::int64_t K_b = tb ? b_cols : b_rows;
  XSEQ_CHECK(K_a == K_b, "matmul: inner dimensions differ: a ", as, (ta ? " (transposed)" : ""), " has ",
             K_a, ", b ", bs, (tb ? " (transposed)" : ""), " has ", K_b);
  p.K = K_a;
  p.M = ta ? a_cols : a_rows;
  p.N = tb ? b_rows : b_cols;

  if (bs.ndim() == 2 && !ta) {
    // (..., M, K) @ (K, N): fold a's leading axes into M; one GEMM.
    p.M = as.numel() / a_cols;
    p.batch = 1;
    p.stride_a = p.stride_b = 0;
    for (int d = 0; d < as.ndim() - 1; ++d) p.out_shape.push_back(as[d]);
    p.out_shape.push_back(p.N);
    return p;
  }
  const std::int64_t a_batch = as.numel() / (a_rows * a_cols == 0 ? 1 : a_rows * a_cols);
  const std::int64_t b_batch = bs.numel() / (b_rows * b_cols == 0 ? 1 : b_rows * b_cols);
  const bool a_batched = as.ndim() > 2, b_batched = bs.ndim() > 2;
  if (a_batched && b_batched) {
    XSEQ_CHECK(as.ndim() == bs.ndim(), "matmul: batched operands need the same batch axes, got a ", as,
               " and b ", bs);
    for (int d = 0; d < as.ndim() - 2; ++d)
      XSEQ_CHECK(as[d] == bs[d], "matmul: batch axis ", d, " differs: a ", as, " and b ", bs,
                 " (batch axes must match exactly)");
  }
  const Shape& lead = a_batched ? as : bs;
  p.batch = a_batched ? a_batch : b_batch;
  p.stride_a = a_batched ? a_rows * a_cols : 0;
  p.stride_b = b_batched ? b_rows * b_cols : 0;
  for (int d = 0; d < lead.ndim() - 2; ++d) p.out_shape.push_back(lead[d]);
  p.out_shape.push_back(p.M);
  p.out_shape.push_back(p.N);
  return p;
}

}  // namespace

Variable matmul(const Variable& a, const Variable& b, bool ta, bool tb) {
  const MatmulPlan p = plan_matmul(a.shape(), b.shape(), ta, tb);
  Tensor y(p.out_shape);
  // A tied output projection h E^T on a quantised checkpoint: E's int8 copy.
  if (const QuantizedMatrix* q = b.int8_weights();
      q && !ta && tb && b.ndim() == 2 && !grad_enabled() && product_precision() == Precision::int8) {
    int8_linear(a.value().data(), a.numel() / p.K, *q, nullptr, false, y.data());
    if (profiler::enabled()) profiler::record_forward("matmul (int8)");
    return Variable(y);
  }
  gemm_batched(ta, tb, p.batch, p.M, p.N, p.K, 1.0f, a.value().data(), p.stride_a, b.value().data(),
               p.stride_b, 0.0f, y.data(), p.M * p.N);

  return Variable::from_op("matmul", y, {a, b}, [a, b, p, ta, tb](const Tensor& gy) {
    const float* A = a.value().data();
    const float* B = b.value().data();
    const float* G = gy.data();
    const std::int64_t sg = p.M * p.N;
    // A fresh gradient buffer is written (beta 0) instead of zero-filled and added to,
    // except when a shared operand (stride 0) sums the batch's products into it.
    if (a.requires_grad()) {
      const std::int64_t sda = p.stride_a;  // 0 when a is shared by the batch: accumulate
      bool fresh = false;
      float* dA = (sda == 0 && p.batch > 1 ? a.grad_buffer() : a.grad_slot(&fresh)).data();
      const float beta = fresh ? 0.0f : 1.0f;
      if (!ta)
        gemm_batched(false, !tb, p.batch, p.M, p.K, p.N, 1.0f, G, sg, B, p.stride_b, beta, dA, sda);
      else
        gemm_batched(tb, true, p.batch, p.K, p.M, p.N, 1.0f, B, p.stride_b, G, sg, beta, dA, sda);
    }
    if (b.requires_grad()) {
      const std::int64_t sdb = p.stride_b;
      bool fresh = false;
      float* dB = (sdb == 0 && p.batch > 1 ? b.grad_buffer() : b.grad_slot(&fresh)).data();
      const float beta = fresh ? 0.0f : 1.0f;
      if (!tb)
        gemm_batched(!ta, false, p.batch, p.K, p.N, p.M, 1.0f, A, p.stride_a, G, sg, beta, dB, sdb);
      else
        gemm_batched(true, ta, p.batch, p.N, p.K, p.M, 1.0f, G, sg, A, p.stride_a, beta, dB, sdb);
    }
  });
}

}  // namespace xseq
