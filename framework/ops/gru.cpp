// gru_sequence: a GRU layer over a whole sequence as one op, with a hand-written
// backward through time. A graph of ~15 small ops per step spent most of its time in
// allocation and thread start-up; here a step is one GEMM (h W_hh^T) plus one fused
// loop over the gates, and the backward's weight gradient is one GEMM over all steps.
//
// Forward, gate order r, z, n (PyTorch), gi = the projected input x W_ih^T + b_ih:
//   gh = h W_hh^T + b_hh
//   r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z),  n = tanh(gi_n + r * gh_n)
//   h' = (1 - z) * n + z * h
// Backward, with dh' the gradient reaching h' (from the output and from step t+1):
//   dn~ = dh' (1 - z) (1 - n^2)           -> dgi_n, and dgh_n = dn~ r
//   dr~ = dn~ gh_n r (1 - r)              -> dgi_r = dgh_r
//   dz~ = dh' (h - n) z (1 - z)           -> dgi_z = dgh_z
//   dh  = dh' z + dgh W_hh;   dW_hh = sum_t dgh_t^T h_t;   db_hh = sum dgh
// A row past its length (t >= lengths[b]) keeps its state and outputs 0: its
// gradient passes straight through to the previous state.
#include <memory>

#include "framework/blas.hpp"
#include "framework/ops.hpp"
#include "framework/ops/recurrent.hpp"
#include "framework/kernels/vector_kernels.hpp"

namespace xseq {
namespace {

// What backward needs from the forward pass, per processed step s (in processing order).
struct GRUSaved {
  Tensor h_prev;  // (T, B, H): the state each step started from
  Tensor gates;   // (T, B, 3H): r, z, n
  Tensor gh;      // (T, B, 3H): h W_hh^T + b_hh (only the n part is read back)
};

}  // namespace

GRUSequence gru_sequence(const Variable& projected, const Variable& h0, const Variable& w_hh, const Variable& b_hh,
                         const std::vector<std::int64_t>& lengths, bool reverse) {
  // Plain variables rather than structured bindings: C++17 lambdas cannot capture those.
  const detail::RecurrentShape shape = detail::check_recurrent("gru_sequence", projected, h0, w_hh, b_hh, lengths, 3);
  const std::int64_t B = shape.B, T = shape.T, H = shape.H, G = shape.G;
  auto lens = std::make_shared<std::vector<std::int64_t>>(lengths);

  // Output and final state in one tensor: (B, T + 1, H), slot T = the final state.
  Tensor packed({B, T + 1, H});
  auto saved = std::make_shared<GRUSaved>(GRUSaved{Tensor({T, B, H}), Tensor({T, B, G}), Tensor({T, B, G})});
  Tensor h = h0.value().clone();
  const float* gi = projected.value().data();
  const float* bias = b_hh.value().data();
  float* out = packed.data();
  float* hp = h.data();
  const kernels::VectorKernels& k = kernels::vector_kernels();
  for (std::int64_t s = 0; s < T; ++s) {
    const std::int64_t t = reverse ? T - 1 - s : s;
    float* gh = saved->gh.data() + s * B * G;
    float* gates = saved->gates.data() + s * B * G;
    std::copy(hp, hp + B * H, saved->h_prev.data() + s * B * H);
    gemm(false, true, B, G, H, 1.0f, hp, H, w_hh.value().data(), H, 0.0f, gh, G);
#pragma omp parallel for if (B * H > detail::kGateGrain) schedule(static)
    for (std::int64_t b = 0; b < B; ++b) {
      float* o = out + (b * (T + 1) + t) * H;
      float* hb = hp + b * H;
      if (t >= (*lens)[static_cast<std::size_t>(b)]) {
        std::fill(o, o + H, 0.0f);
        continue;
      }
      k.gru_row(gi + (b * T + t) * G, gh + b * G, bias, gates + b * G, hb, o, H);
    }
  }
  detail::state_to_slot(hp, out, T + 1, T, B, H);

  const Variable result = Variable::from_op(
      "gru_sequence", packed, {projected, h0, w_hh, b_hh},
      [projected, h0, w_hh, b_hh, saved, lens, reverse, B, T, H, G](const Tensor& gout) {
        Tensor dh({B, H});  // gradient reaching the current state
        Tensor dgh_all({T, B, G});
        const float* go = gout.data();
        float* dh_p = dh.data();
        detail::slot_to_state(go, dh_p, T + 1, T, B, H);
        float* dgi = projected.requires_grad() ? projected.grad_buffer().data() : nullptr;
        const kernels::VectorKernels& k = kernels::vector_kernels();
        for (std::int64_t s = T - 1; s >= 0; --s) {
          const std::int64_t t = reverse ? T - 1 - s : s;
          const float* gates = saved->gates.data() + s * B * G;
          const float* gh = saved->gh.data() + s * B * G;
          const float* hprev = saved->h_prev.data() + s * B * H;
          float* dgh = dgh_all.data() + s * B * G;
#pragma omp parallel for if (B * H > detail::kGateGrain) schedule(static)
          for (std::int64_t b = 0; b < B; ++b) {
            float* dgh_b = dgh + b * G;
            if (t >= (*lens)[static_cast<std::size_t>(b)]) {
              std::fill(dgh_b, dgh_b + G, 0.0f);  // state kept: dh passes through unchanged
              continue;
            }
            k.gru_backward_row(gates + b * G, gh + b * G, hprev + b * H, go + (b * (T + 1) + t) * H, dh_p + b * H,
                               dgh_b, dgi ? dgi + (b * T + t) * G : nullptr, H);
          }
          gemm(false, false, B, H, G, 1.0f, dgh, G, w_hh.value().data(), H, 1.0f, dh_p, H);
        }
        detail::add_state_grad(h0, dh);
        detail::recurrent_weight_grads(w_hh, b_hh, dgh_all, saved->h_prev);
      });
  return {narrow(result, 1, 0, T), reshape(narrow(result, 1, T, 1), {B, H})};
}

}  // namespace xseq
