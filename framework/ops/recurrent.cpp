#include "framework/ops/recurrent.hpp"

#include <algorithm>

#include "framework/blas.hpp"
#include "framework/ops/kernels.hpp"

namespace xseq::detail {

RecurrentShape check_recurrent(const char* op, const Variable& projected, const Variable& h0, const Variable& w_hh,
                               const Variable& b_hh, const std::vector<std::int64_t>& lengths, std::int64_t gates) {
  XSEQ_CHECK(h0.ndim() == 2, op, ": initial state must be (batch, hidden), got ", h0.shape());
  const std::int64_t B = h0.dim(0), H = h0.dim(1), G = gates * H;
  XSEQ_CHECK(projected.ndim() == 3 && projected.dim(0) == B && projected.dim(2) == G, op, ": projected input ",
             projected.shape(), " must be (batch ", B, ", time, ", G, ")");
  XSEQ_CHECK(w_hh.shape() == Shape({G, H}) && b_hh.shape() == Shape({G}), op, ": weight_hh ", w_hh.shape(),
             " and bias_hh ", b_hh.shape(), " must be (", G, ", ", H, ") and (", G, ",)");
  XSEQ_CHECK(static_cast<std::int64_t>(lengths.size()) == B, op, ": ", lengths.size(), " lengths for a batch of ",
             B);
  return {B, projected.dim(1), H, G};
}

void state_to_slot(const float* state, float* packed, std::int64_t slots, std::int64_t slot, std::int64_t B,
                   std::int64_t H) {
  for (std::int64_t b = 0; b < B; ++b) std::copy_n(state + b * H, H, packed + (b * slots + slot) * H);
}

void slot_to_state(const float* packed, float* state, std::int64_t slots, std::int64_t slot, std::int64_t B,
                   std::int64_t H) {
  for (std::int64_t b = 0; b < B; ++b) std::copy_n(packed + (b * slots + slot) * H, H, state + b * H);
}

void add_state_grad(const Variable& state, const Tensor& state_grad) {
  if (!state.requires_grad()) return;
  float* d = state.grad_buffer().data();
  const float* g = state_grad.data();
  for (std::int64_t i = 0; i < state_grad.numel(); ++i) d[i] += g[i];
}

void recurrent_weight_grads(const Variable& w_hh, const Variable& b_hh, const Tensor& dgates, const Tensor& h_prev) {
  const std::int64_t G = dgates.dim(2), H = h_prev.dim(2), rows = dgates.dim(0) * dgates.dim(1);
  if (w_hh.requires_grad())
    gemm(true, false, G, H, rows, 1.0f, dgates.data(), G, h_prev.data(), H, 1.0f, w_hh.grad_buffer().data(), H);
  if (b_hh.requires_grad()) reduce_add_to(dgates, b_hh.grad_buffer());
}

}  // namespace xseq::detail
