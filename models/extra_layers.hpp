// Registered layers inside the built-in models: [[model.encoder_extra]] after the
// encoder and [[model.decoder_extra]] on the decoder's hidden states before the
// output projection (docs/custom_layers.md, "Extension points").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "framework/layers/registry.hpp"

namespace xseq {

/// Builds `specs` at width `dim` with the model's dropout; `part` ("encoder_extra"
/// or "decoder_extra") names them in errors. Decoder layers must be causal or
/// position-wise (SequenceLayer::time_mixing), since decoding sees one step at a time.
std::vector<std::shared_ptr<SequenceLayer>> build_extra_layers(const std::vector<LayerArgs>& specs, std::int64_t dim,
                                                                float dropout, Rng& rng, const std::string& part);

/// Runs the layers in order over a whole padded batch.
Variable apply_extra_layers(const std::vector<std::shared_ptr<SequenceLayer>>& layers, Variable x,
                            const Lengths& lengths);

/// What decoding keeps for the decoder's extra layers: for each causal layer, its
/// inputs so far (B, t, dim); position-wise layers keep nothing.
struct ExtraLayerCache {
  std::vector<Tensor> inputs;
  void select(const std::vector<std::int64_t>& rows);
};

/// One decoding step through the decoder's extra layers: x (B, 1, dim) -> (B, 1, dim).
/// A causal layer runs on its whole prefix and gives its last position (cost grows
/// with t); a position-wise layer runs on the step alone.
Variable step_extra_layers(const std::vector<std::shared_ptr<SequenceLayer>>& layers, Variable x,
                           ExtraLayerCache& cache);

}  // namespace xseq
