// Checking a registered layer (`xseq gradcheck`, xseq.gradcheck in Python): its
// parameter and input gradients against finite differences in train and eval
// mode, that backward accumulates, and its time_mixing() claim.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "framework/layers/registry.hpp"

namespace xseq {

struct LayerCheckOptions {
  std::string layer;                            ///< a registered layer type
  std::int64_t dim = 16;                        ///< the model width the layer gets
  double dropout = 0.1;                         ///< the model dropout it gets
  std::map<std::string, LayerOption> options;   ///< its own options
  std::uint64_t seed = 1;                       ///< weights, input and projection
  std::int64_t max_elements = 0;                ///< per tensor (0 = all)
  std::string where = "layer";                  ///< what errors name the layer type by ("--layer")
};

/// One tensor in one mode.
struct LayerCheckLine {
  std::string mode;    ///< "train" or "eval"
  std::string tensor;  ///< "input" or a parameter name
  double max_abs_error = 0, relative_error = 0, worst_ratio = 0, accumulation_deviation = 0;
  std::int64_t kinks = 0;
  bool accumulates = true, ok = true;
};

struct LayerCheckReport {
  std::string layer;
  std::int64_t dim = 0;
  std::vector<LayerCheckLine> lines;
  std::string time_mixing;        ///< "bidirectional", "causal", "position_wise"
  double time_mixing_worst = 0;   ///< the largest move of an output the claim forbids to move
  bool time_mixing_ok = true;
  int failures() const;
  std::size_t checks() const { return lines.size() + 1; }
  bool ok() const { return failures() == 0; }
  /// What `xseq gradcheck` prints: one line per tensor and mode, then a verdict.
  std::string text() const;
};

/// Builds the layer as a config would, feeds it a random padded batch (3
/// sequences of lengths 5, 3, 1, width dim) and checks it. Throws xseq::Error for
/// a layer that is not registered or cannot be built with these options.
LayerCheckReport check_layer(const LayerCheckOptions& options);

}  // namespace xseq
