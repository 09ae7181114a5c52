// What gru_sequence and lstm_sequence share (ops/gru.cpp, ops/lstm.cpp): the
// input checks, the packed output layout (B, slots, H) holding the outputs and
// the final states, and the end of the backward pass. Internal to the ops.
#pragma once

#include <cstdint>
#include <vector>

#include "framework/autograd.hpp"

namespace xseq::detail {

/// Below this many state elements (B * H) the gate loops run on one thread: the
/// work is smaller than waking the other threads.
constexpr std::int64_t kGateGrain = 8192;

struct RecurrentShape {
  std::int64_t B, T, H, G;  // batch, steps, hidden, gates * hidden
};

/// Checks projected (B, T, G), h0 (B, H), w_hh (G, H), b_hh (G) and one length
/// per row, with G = gates * H; errors name `op`.
RecurrentShape check_recurrent(const char* op, const Variable& projected, const Variable& h0, const Variable& w_hh,
                               const Variable& b_hh, const std::vector<std::int64_t>& lengths, std::int64_t gates);

/// Row b of slot `slot` in packed (B, slots, H) <-> row b of state (B, H).
void state_to_slot(const float* state, float* packed, std::int64_t slots, std::int64_t slot, std::int64_t B,
                   std::int64_t H);
void slot_to_state(const float* packed, float* state, std::int64_t slots, std::int64_t slot, std::int64_t B,
                   std::int64_t H);

/// After the backward steps: d(initial state) += the gradient left in `state_grad`.
void add_state_grad(const Variable& state, const Tensor& state_grad);

/// dW_hh += sum_t dgates_t^T h_t as one GEMM over all (T * B) rows, and
/// db_hh += sum of dgates. dgates (T, B, G), h_prev (T, B, H).
void recurrent_weight_grads(const Variable& w_hh, const Variable& b_hh, const Tensor& dgates, const Tensor& h_prev);

}  // namespace xseq::detail
