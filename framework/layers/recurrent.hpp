// Recurrent cells and a layer that runs them over a padded batch. Gate order
// and parameter layout follow PyTorch (GRU: r, z, n; LSTM: i, f, g, o), so
// weights map one to one (docs/layers.md).
#pragma once

#include <memory>
#include <vector>

#include "framework/layers/attention.hpp"

namespace xseq {

/// What GRUCell and LSTMCell share: the four parameters, drawn from
/// U(-1/sqrt(H), 1/sqrt(H)) as PyTorch does, and the input projection.
class RecurrentCell : public Module {
 public:
  /// x W_ih^T + b_ih for any leading shape (done once for a whole sequence).
  Variable project_input(const Variable& x) const;
  std::int64_t hidden() const { return hidden_; }

 protected:
  RecurrentCell(const char* name, std::int64_t input, std::int64_t hidden, std::int64_t gates, Rng& rng);
  const char* name_;
  std::int64_t hidden_;
  Variable w_ih_, w_hh_, b_ih_, b_hh_;
};

/// h' = (1 - z) * n + z * h with r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),
/// z likewise, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
/// Parameters: weight_ih (3H, I), weight_hh (3H, H), bias_ih (3H), bias_hh (3H).
class GRUCell : public RecurrentCell {
 public:
  GRUCell(std::int64_t input, std::int64_t hidden, Rng& rng) : RecurrentCell("GRUCell", input, hidden, 3, rng) {}
  /// x (B, I), h (B, H) -> h' (B, H).
  Variable forward(const Variable& x, const Variable& h) const { return step(project_input(x), h); }
  /// One step from an already projected input (B, 3H).
  Variable step(const Variable& projected, const Variable& h) const;
  /// Every step of an already projected sequence (B, T, 3H) as one fused op
  /// (gru_sequence); rows stop at their lengths, `reverse` runs right to left.
  GRUSequence sequence(const Variable& projected, const Variable& h0, const Lengths& lengths, bool reverse) const;
};

struct LSTMState {
  Variable h, c;
};

/// c' = f * c + i * g, h' = o * tanh(c') with i, f, o = sigmoid(...), g = tanh(...).
/// Parameters: weight_ih (4H, I), weight_hh (4H, H), bias_ih (4H), bias_hh (4H).
class LSTMCell : public RecurrentCell {
 public:
  LSTMCell(std::int64_t input, std::int64_t hidden, Rng& rng) : RecurrentCell("LSTMCell", input, hidden, 4, rng) {}
  LSTMState forward(const Variable& x, const LSTMState& state) const { return step(project_input(x), state); }
  LSTMState step(const Variable& projected, const LSTMState& state) const;
  /// Every step of an already projected sequence (B, T, 4H) as one fused op (lstm_sequence).
  LSTMSequence sequence(const Variable& projected, const Variable& h0, const Variable& c0, const Lengths& lengths,
                        bool reverse) const;
};

enum class CellType { gru, lstm };
/// "gru" or "lstm".
CellType parse_cell(const std::string& name);

/// A stack of GRU or LSTM layers over a padded batch (B, T, I), as torch.nn.GRU /
/// nn.LSTM with batch_first and pack_padded_sequence: a sequence's state stops
/// updating after its last valid step, its outputs there are 0, and the
/// backward direction starts at each sequence's own last valid step.
/// Parameters: layers.<l>.forward.* and layers.<l>.backward.* (the cells').
class Recurrent : public Module {
 public:
  struct Options {
    CellType cell = CellType::gru;
    std::int64_t layers = 1;
    bool bidirectional = false;
    float dropout = 0.0f;  ///< between layers (training only), as PyTorch
  };
  struct Result {
    Variable output;               ///< (B, T, dirs * H), 0 past each length
    std::vector<Variable> h_last;  ///< layers * dirs entries of (B, H), PyTorch's h_n order
    std::vector<Variable> c_last;  ///< LSTM only
  };
  /// States per layer and direction (PyTorch's h_0 / c_0 order); c only for LSTM.
  struct State {
    std::vector<Variable> h, c;
  };
  Recurrent(std::int64_t input, std::int64_t hidden, Rng& rng, Options options);
  /// Runs the whole padded batch; `initial` (optional) replaces the zero state.
  Result forward(const Variable& x, const Lengths& lengths, const State* initial = nullptr);
  /// One time step of a unidirectional stack: x (B, I) -> top output (B, H);
  /// `state` (all layers) is read and replaced. Same numbers as forward().
  Variable step(const Variable& x, State& state);
  /// The zero state for a batch of B.
  State zero_state(std::int64_t batch) const;
  std::int64_t output_dim() const { return hidden_ * (options_.bidirectional ? 2 : 1); }

 private:
  // One direction of one layer: (B, T, in) -> (B, T, H) plus the final state.
  Variable run_direction(const RecurrentCell& cell, const Variable& x, const Lengths& lengths, bool reverse,
                         Variable& h, Variable& c) const;
  // One cell step from a projected input; updates h (and c for LSTM).
  void cell_step(const RecurrentCell& cell, const Variable& projected, Variable& h, Variable& c) const;

  std::int64_t hidden_;
  Options options_;
  std::vector<std::shared_ptr<RecurrentCell>> cells_;  // layer-major: l0 fwd, l0 bwd, l1 fwd, ...
  std::shared_ptr<Dropout> dropout_;
};

}  // namespace xseq
