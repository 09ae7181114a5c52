// A checkpoint loaded for inference: its stored config, its text pipeline and
// its model (the moving average of the weights when the checkpoint has one), in
// eval mode. The plugins the checkpoint records are loaded first. A quantised
// checkpoint (xseq quantize) loads with its int8 weights and decodes in int8.
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"
#include "datasets/pipeline.hpp"
#include "models/seq2seq.hpp"

namespace xseq {

/// A trained model ready for decoding: its config (stored in the checkpoint),
/// its text pipeline and its parameters, in eval mode.
struct TrainedModel {
  Config config;
  TextPipeline pipeline;
  std::shared_ptr<Seq2SeqModel> model;
};
TrainedModel load_trained_model(const std::string& checkpoint);

}  // namespace xseq
