// A highway layer (Srivastava et al. 2015), written outside xseq against its
// public API:  y = t * relu(W_h x + b_h) + (1 - t) * x,  t = sigmoid(W_t x + b_t).
#pragma once

#include <framework/xseq.hpp>

namespace example {

/// A new op with a hand-written backward: gate * h + (1 - gate) * x, fused.
/// Forward and backward sit side by side, as in xseq's own ops.
xseq::Variable highway_mix(const xseq::Variable& gate, const xseq::Variable& h, const xseq::Variable& x);

/// Parameters: transform.weight/bias (dim, dim), gate.weight/bias (dim, dim).
class Highway : public xseq::SequenceLayer {
 public:
  Highway(std::int64_t dim, float gate_bias, xseq::Rng& rng);
  xseq::Variable forward(const xseq::Variable& x, const xseq::Lengths& lengths) override;
  /// Output t reads input t alone, so the layer may also go into the decoder.
  TimeMixing time_mixing() const override { return TimeMixing::position_wise; }

 private:
  std::shared_ptr<xseq::Dense> transform_, gate_;
};

}  // namespace example
