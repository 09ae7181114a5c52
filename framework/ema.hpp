// Exponential moving average of the parameters (Polyak averaging; Marian's
// --exponential-smoothing, OpenNMT's -average_decay): a smoothed copy of the
// weights that training updates after every step and evaluation swaps in.
#pragma once

#include <string>
#include <vector>

#include "framework/module.hpp"

namespace xseq {

class H5File;

class ExponentialMovingAverage {
 public:
  /// Starts the average at the parameters' current values.
  ExponentialMovingAverage(std::vector<NamedParameter> params, double decay);

  /// average = d * average + (1 - d) * weight, with d = min(decay, (1 + t) / (10 + t)) at
  /// the t-th update (t from 1), so that early averages are not dominated by the
  /// random initial weights. One fused pass over the parameters.
  void update();
  /// Exchanges the weights and their averages in place (call again to undo):
  /// evaluation and checkpoints of the smoothed model run between two swaps.
  void swap();

  std::int64_t updates() const { return updates_; }
  double decay() const { return decay_; }
  /// The averages, named like the parameters (for checkpoints).
  std::vector<NamedParameter> averages() const;
  /// Reads the averages saved under `group` (e.g. "ema") and the update count.
  void load(const H5File& file, const std::string& group, std::int64_t updates);

 private:
  std::vector<NamedParameter> params_;
  std::vector<Tensor> averages_;
  double decay_;
  std::int64_t updates_ = 0;
};

}  // namespace xseq
