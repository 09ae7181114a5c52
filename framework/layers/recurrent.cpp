#include "framework/layers/recurrent.hpp"

#include <cmath>
#include <string>

namespace xseq {
CellType parse_cell(const std::string& name) {
  if (name == "gru") return CellType::gru;
  if (name == "lstm") return CellType::lstm;
  XSEQ_CHECK(false, "unknown recurrent cell '", name, "' (expected gru or lstm)");
  return CellType::gru;
}

// ---- the shared cell parameters ---------------------------------------------------------
RecurrentCell::RecurrentCell(const char* name, std::int64_t input, std::int64_t hidden, std::int64_t gates,
                             Rng& rng)
    : name_(name), hidden_(hidden) {
  XSEQ_CHECK(input > 0 && hidden > 0, name, ": input and hidden sizes must be positive, got ", input, " and ",
             hidden);
  const float bound = 1.0f / std::sqrt(float(hidden));
  Tensor w_ih({gates * hidden, input}), w_hh({gates * hidden, hidden}), b_ih({gates * hidden}),
      b_hh({gates * hidden});
  for (Tensor* t : {&w_ih, &w_hh, &b_ih, &b_hh}) init::uniform(*t, -bound, bound, rng);
  w_ih_ = register_parameter("weight_ih", std::move(w_ih));
  w_hh_ = register_parameter("weight_hh", std::move(w_hh));
  b_ih_ = register_parameter("bias_ih", std::move(b_ih));
  b_hh_ = register_parameter("bias_hh", std::move(b_hh));
}

Variable RecurrentCell::project_input(const Variable& x) const {
  XSEQ_CHECK(x.ndim() >= 1 && x.dim(-1) == w_ih_.dim(1), name_, ": input ", x.shape(), " must end in ",
             w_ih_.dim(1), " features");
  return linear(x, w_ih_, b_ih_);
}

// ---- GRUCell ------------------------------------------------------------------------------
// Both entry points run the fused op (ops/gru.cpp); a single step is a sequence of one.
Variable GRUCell::step(const Variable& gi, const Variable& h) const {
  const std::int64_t G = 3 * hidden_;
  XSEQ_CHECK(h.ndim() == 2 && h.dim(1) == hidden_ && gi.shape() == Shape({h.dim(0), G}), name_, ": state ",
             h.shape(), " must be (batch, ", hidden_, ") and the projected input ", gi.shape(), " (batch, ", G, ")");
  const Lengths one(static_cast<std::size_t>(h.dim(0)), 1);
  return gru_sequence(reshape(gi, {h.dim(0), 1, G}), h, w_hh_, b_hh_, one, false).h_last;
}

GRUSequence GRUCell::sequence(const Variable& projected, const Variable& h0, const Lengths& lengths,
                              bool reverse) const {
  return gru_sequence(projected, h0, w_hh_, b_hh_, lengths, reverse);
}

// ---- LSTMCell -----------------------------------------------------------------------------
LSTMState LSTMCell::step(const Variable& gi, const LSTMState& s) const {
  const std::int64_t G = 4 * hidden_;
  XSEQ_CHECK(s.h.ndim() == 2 && s.h.dim(1) == hidden_ && s.c.shape() == s.h.shape() &&
                 gi.shape() == Shape({s.h.dim(0), G}),
             name_, ": states h ", s.h.shape(), " and c ", s.c.shape(), " must be (batch, ", hidden_,
             ") and the projected input ", gi.shape(), " (batch, ", G, ")");
  const Lengths one(static_cast<std::size_t>(s.h.dim(0)), 1);
  const LSTMSequence r = lstm_sequence(reshape(gi, {s.h.dim(0), 1, G}), s.h, s.c, w_hh_, b_hh_, one, false);
  return {r.h_last, r.c_last};
}

LSTMSequence LSTMCell::sequence(const Variable& projected, const Variable& h0, const Variable& c0,
                                const Lengths& lengths, bool reverse) const {
  return lstm_sequence(projected, h0, c0, w_hh_, b_hh_, lengths, reverse);
}

// ---- Recurrent ----------------------------------------------------------------------------------
Recurrent::Recurrent(std::int64_t input, std::int64_t hidden, Rng& rng, Options options)
    : hidden_(hidden), options_(options) {
  XSEQ_CHECK(options.layers >= 1, "Recurrent: layers must be >= 1, got ", options.layers);
  const int dirs = options.bidirectional ? 2 : 1;
  for (std::int64_t l = 0; l < options.layers; ++l) {
    const std::int64_t in = l == 0 ? input : hidden * dirs;
    for (int d = 0; d < dirs; ++d) {
      const std::string name = "layers." + std::to_string(l) + (d == 0 ? ".forward" : ".backward");
      std::shared_ptr<RecurrentCell> cell;
      if (options.cell == CellType::gru) cell = std::make_shared<GRUCell>(in, hidden, rng);
      else cell = std::make_shared<LSTMCell>(in, hidden, rng);
      cells_.push_back(register_module(name, cell));
    }
  }
  dropout_ = register_module("dropout", std::make_shared<Dropout>(options.dropout, rng));
}

void Recurrent::cell_step(const RecurrentCell& cell, const Variable& gi, Variable& h, Variable& c) const {
  if (options_.cell == CellType::lstm) {
    const LSTMState next = static_cast<const LSTMCell&>(cell).step(gi, {h, c});
    h = next.h;
    c = next.c;
  } else {
    h = static_cast<const GRUCell&>(cell).step(gi, h);
  }
}

Variable Recurrent::run_direction(const RecurrentCell& cell, const Variable& x, const Lengths& lengths, bool reverse,
                                  Variable& h, Variable& c) const {
  // The input projection for every step at once (one GEMM), then the whole
  // recurrence as one op.
  const Variable projected = cell.project_input(x);
  if (options_.cell == CellType::lstm) {
    LSTMSequence r = static_cast<const LSTMCell&>(cell).sequence(projected, h, c, lengths, reverse);
    h = r.h_last;
    c = r.c_last;
    return r.output;
  }
  GRUSequence r = static_cast<const GRUCell&>(cell).sequence(projected, h, lengths, reverse);
  h = r.h_last;
  return r.output;
}

Recurrent::State Recurrent::zero_state(std::int64_t batch) const {
  State s;
  const std::size_t n = cells_.size();
  for (std::size_t k = 0; k < n; ++k) {
    s.h.emplace_back(Tensor::zeros({batch, hidden_}));
    if (options_.cell == CellType::lstm) s.c.emplace_back(Tensor::zeros({batch, hidden_}));
  }
  return s;
}

Variable Recurrent::step(const Variable& x, State& state) {
  XSEQ_CHECK(!options_.bidirectional, "Recurrent::step: a bidirectional layer cannot run one step at a time");
  XSEQ_CHECK(x.ndim() == 2 && state.h.size() == cells_.size(), "Recurrent::step: input ", x.shape(),
             " must be (batch, features) and the state hold ", cells_.size(), " layers");
  Variable input = x;
  for (std::size_t l = 0; l < cells_.size(); ++l) {
    if (l > 0) input = dropout_->forward(input);
    Variable c = options_.cell == CellType::lstm ? state.c[l] : Variable();
    cell_step(*cells_[l], cells_[l]->project_input(input), state.h[l], c);
    if (options_.cell == CellType::lstm) state.c[l] = c;
    input = state.h[l];
  }
  return input;
}

Recurrent::Result Recurrent::forward(const Variable& x, const Lengths& lengths, const State* initial) {
  XSEQ_CHECK(x.ndim() == 3 && static_cast<std::int64_t>(lengths.size()) == x.dim(0), "Recurrent: input ",
             x.shape(), " must be (batch, time, features) with one length per sequence (got ", lengths.size(),
             ")");
  for (std::size_t b = 0; b < lengths.size(); ++b)
    XSEQ_CHECK(lengths[b] >= 1 && lengths[b] <= x.dim(1), "Recurrent: lengths[", b, "] = ", lengths[b],
               " must be in [1, ", x.dim(1), "]");
  const int dirs = options_.bidirectional ? 2 : 1;
  const State start = initial ? *initial : zero_state(x.dim(0));
  XSEQ_CHECK(start.h.size() == cells_.size() &&
                 start.c.size() == (options_.cell == CellType::lstm ? cells_.size() : 0),
             "Recurrent: the initial state must hold ", cells_.size(), " h (and for LSTM c) tensors");
  Result r;
  Variable layer_input = x;
  for (std::int64_t l = 0; l < options_.layers; ++l) {
    if (l > 0) layer_input = dropout_->forward(layer_input);
    std::vector<Variable> direction_outputs;
    for (int d = 0; d < dirs; ++d) {
      const auto k = static_cast<std::size_t>(l * dirs + d);
      Variable h = start.h[k], c = options_.cell == CellType::lstm ? start.c[k] : Variable();
      direction_outputs.push_back(run_direction(*cells_[k], layer_input, lengths, d == 1, h, c));
      r.h_last.push_back(h);
      if (options_.cell == CellType::lstm) r.c_last.push_back(c);
    }
    layer_input = dirs == 1 ? direction_outputs[0] : concat(direction_outputs, 2);
  }
  r.output = layer_input;
  return r;
}

}  // namespace xseq
