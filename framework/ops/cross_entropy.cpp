// Fused masked cross-entropy: log-softmax and NLL in one pass per row, with
// ignore_index and label smoothing, averaged over the non-ignored rows.
// With q = (1-eps) * onehot(t) + eps/V and p = softmax(x):
//   loss_row = -sum_j q_j log p_j = lse - (1-eps) x_t - eps * mean_j x_j
//   dx_j     = (p_j - q_j) * dloss / count
// Forward keeps each row's log-sum-exp; backward recomputes p from it.
#include <cmath>
#include <memory>
#include <vector>

#include "framework/kernels/vector_kernels.hpp"
#include "framework/ops.hpp"
#include "framework/ops/kernels.hpp"

namespace xseq {

Variable cross_entropy(const Variable& logits, const IndexTensor& targets, int ignore_index,
                       float label_smoothing) {
  XSEQ_CHECK(logits.ndim() >= 1, "cross_entropy: logits must have a class axis, got ", logits.shape());
  XSEQ_CHECK(label_smoothing >= 0.0f && label_smoothing <= 1.0f,
             "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  const std::int64_t V = logits.dim(-1);
  const std::int64_t rows = V ? logits.numel() / V : 0;
  Shape expected;
  for (int d = 0; d < logits.ndim() - 1; ++d) expected.push_back(logits.shape()[d]);
  XSEQ_CHECK(targets.shape == expected, "cross_entropy: targets of shape ", targets.shape,
             " do not match logits ", logits.shape(), " (expected targets ", expected, ")");
  std::int64_t count = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int32_t t = targets.data[r];
    if (t == ignore_index) continue;
    XSEQ_CHECK(t >= 0 && t < V, "cross_entropy: target ", t, " at position ", r, " is out of range for ",
               V, " classes (and is not the ignore index ", ignore_index, ")");
    ++count;
  }

  const float eps = label_smoothing;
  auto lse = std::make_shared<std::vector<float>>(rows);
  std::vector<double> row_loss(rows, 0.0);
  const float* px = logits.value().data();
  const kernels::VectorKernels& k = kernels::vector_kernels();
#pragma omp parallel for if (logits.numel() > kParallelGrain) schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int32_t t = targets.data[r];
    if (t == ignore_index) continue;
    const float* xr = px + r * V;
    float sum_x = 0.0f;
    const float l = k.logsumexp_row(xr, V, &sum_x);
    (*lse)[r] = l;
    row_loss[r] = double(l) - (1.0 - eps) * double(xr[t]) - eps * double(sum_x) / double(V);
  }
  double loss = 0.0;  // summed in row order: the same on every run
  for (std::int64_t r = 0; r < rows; ++r) loss += row_loss[r];
  Tensor y = Tensor::scalar(count ? float(loss / double(count)) : 0.0f);

  return Variable::from_op("cross_entropy", y, {logits},
                           [logits, targets, ignore_index, eps, lse, count, V, rows](const Tensor& gy) {
    float* gx = logits.grad_buffer().data();
    if (count == 0) return;
    const float g = gy.item() / float(count);
    const float smooth = eps / float(V);
    const float* px = logits.value().data();
    const kernels::VectorKernels& k = kernels::vector_kernels();
#pragma omp parallel for if (logits.numel() > kParallelGrain) schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int32_t t = targets.data[r];
      if (t == ignore_index) continue;
      float* dr = gx + r * V;
      k.cross_entropy_backward_row(px + r * V, (*lse)[r], g, smooth, V, dr);
      dr[t] -= g * (1.0f - eps);
    }
  });
}

}  // namespace xseq
