// lstm_sequence: an LSTM layer over a whole sequence as one op, with a hand-written
// backward through time (the LSTM twin of ops/gru.cpp). A step is one GEMM
// (h W_hh^T) plus one fused loop over the gates; the backward's weight gradient is
// one GEMM over all steps.
//
// Forward, gate order i, f, g, o (PyTorch), gi = the projected input x W_ih^T + b_ih:
//   a = gi + h W_hh^T + b_hh
//   i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
//   c' = f c + i g,   h' = o tanh(c')
// Backward, with dh', dc' the gradients reaching h' and c' (from the outputs and
// from step t+1):
//   dc~ = dc' + dh' o (1 - tanh(c')^2)
//   da_o = dh' tanh(c') o (1 - o),  da_i = dc~ g i (1 - i),
//   da_g = dc~ i (1 - g^2),         da_f = dc~ c f (1 - f)
//   dc = dc~ f,  dh = da W_hh;  dW_hh = sum_t da_t^T h_t;  db_hh = sum da
// A row past its length keeps its states and outputs 0: its gradients pass
// straight through to the previous states.
#include <memory>

#include "framework/blas.hpp"
#include "framework/ops.hpp"
#include "framework/ops/recurrent.hpp"
#include "framework/kernels/vector_kernels.hpp"

namespace xseq {
namespace {

// What backward needs from the forward pass, per processed step s (in processing order).
struct LSTMSaved {
  Tensor h_prev;  // (T, B, H): the states each step started from
  Tensor c_prev;  // (T, B, H)
  Tensor gates;   // (T, B, 4H): i, f, g, o
  Tensor tanh_c;  // (T, B, H): tanh(c')
};

}  // namespace

LSTMSequence lstm_sequence(const Variable& projected, const Variable& h0, const Variable& c0, const Variable& w_hh,
                           const Variable& b_hh, const std::vector<std::int64_t>& lengths, bool reverse) {
  XSEQ_CHECK(h0.ndim() == 2 && c0.shape() == h0.shape(), "lstm_sequence: initial states h ", h0.shape(), " and c ",
             c0.shape(), " must both be (batch, hidden)");
  // Plain variables rather than structured bindings: C++17 lambdas cannot capture those.
  const detail::RecurrentShape shape = detail::check_recurrent("lstm_sequence", projected, h0, w_hh, b_hh, lengths, 4);
  const std::int64_t B = shape.B, T = shape.T, H = shape.H, G = shape.G;
  auto lens = std::make_shared<std::vector<std::int64_t>>(lengths);

  // Output and final states in one tensor: (B, T + 2, H), slot T = h, slot T + 1 = c.
  const std::int64_t slots = T + 2;
  Tensor packed({B, slots, H});
  auto saved = std::make_shared<LSTMSaved>(
      LSTMSaved{Tensor({T, B, H}), Tensor({T, B, H}), Tensor({T, B, G}), Tensor({T, B, H})});
  Tensor h = h0.value().clone(), c = c0.value().clone();
  const float* gi = projected.value().data();
  const float* bias = b_hh.value().data();
  float* out = packed.data();
  float* hp = h.data();
  float* cp = c.data();
  const kernels::VectorKernels& k = kernels::vector_kernels();
  for (std::int64_t s = 0; s < T; ++s) {
    const std::int64_t t = reverse ? T - 1 - s : s;
    float* a_all = saved->gates.data() + s * B * G;
    float* tc_all = saved->tanh_c.data() + s * B * H;
    std::copy(hp, hp + B * H, saved->h_prev.data() + s * B * H);
    std::copy(cp, cp + B * H, saved->c_prev.data() + s * B * H);
    gemm(false, true, B, G, H, 1.0f, hp, H, w_hh.value().data(), H, 0.0f, a_all, G);
#pragma omp parallel for if (B * H > detail::kGateGrain) schedule(static)
    for (std::int64_t b = 0; b < B; ++b) {
      float* o = out + (b * slots + t) * H;
      if (t >= (*lens)[static_cast<std::size_t>(b)]) {
        std::fill(o, o + H, 0.0f);
        continue;
      }
      k.lstm_row(gi + (b * T + t) * G, a_all + b * G, bias, cp + b * H, tc_all + b * H, hp + b * H, o, H);
    }
  }
  detail::state_to_slot(hp, out, slots, T, B, H);
  detail::state_to_slot(cp, out, slots, T + 1, B, H);

  const Variable result = Variable::from_op(
      "lstm_sequence", packed, {projected, h0, c0, w_hh, b_hh},
      [projected, h0, c0, w_hh, b_hh, saved, lens, reverse, B, T, H, G, slots](const Tensor& gout) {
        Tensor dh({B, H}), dc({B, H});  // gradients reaching the current states
        Tensor da_all({T, B, G});
        const float* go = gout.data();
        float* dh_p = dh.data();
        float* dc_p = dc.data();
        detail::slot_to_state(go, dh_p, slots, T, B, H);
        detail::slot_to_state(go, dc_p, slots, T + 1, B, H);
        float* dgi = projected.requires_grad() ? projected.grad_buffer().data() : nullptr;
        const kernels::VectorKernels& k = kernels::vector_kernels();
        for (std::int64_t s = T - 1; s >= 0; --s) {
          const std::int64_t t = reverse ? T - 1 - s : s;
          const float* a_all = saved->gates.data() + s * B * G;
          const float* tc_all = saved->tanh_c.data() + s * B * H;
          const float* c_prev = saved->c_prev.data() + s * B * H;
          float* da = da_all.data() + s * B * G;
#pragma omp parallel for if (B * H > detail::kGateGrain) schedule(static)
          for (std::int64_t b = 0; b < B; ++b) {
            float* da_b = da + b * G;
            if (t >= (*lens)[static_cast<std::size_t>(b)]) {
              std::fill(da_b, da_b + G, 0.0f);  // states kept: dh and dc pass through
              continue;
            }
            k.lstm_backward_row(a_all + b * G, tc_all + b * H, c_prev + b * H, go + (b * slots + t) * H, dh_p + b * H,
                                dc_p + b * H, da_b, dgi ? dgi + (b * T + t) * G : nullptr, H);
          }
          gemm(false, false, B, H, G, 1.0f, da, G, w_hh.value().data(), H, 1.0f, dh_p, H);
        }
        detail::add_state_grad(h0, dh);
        detail::add_state_grad(c0, dc);
        detail::recurrent_weight_grads(w_hh, b_hh, da_all, saved->h_prev);
      });
  return {narrow(result, 1, 0, T), reshape(narrow(result, 1, T, 1), {B, H}), reshape(narrow(result, 1, T + 1, 1), {B, H})};
}

}  // namespace xseq
