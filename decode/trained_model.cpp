#include "decode/trained_model.hpp"

#include "framework/checkpoint.hpp"
#include "framework/plugin.hpp"

namespace xseq {

TrainedModel load_trained_model(const std::string& checkpoint) {
  auto file = open_checkpoint(checkpoint);
  TrainedModel t;
  // The plugins its layers and model type come from, before the config names them.
  load_manifest_plugins(file->attribute("plugins"), "checkpoint '" + checkpoint + "'");
  t.config = parse_config(file->attribute("config"), checkpoint + ":config");
  t.pipeline = TextPipeline::load(*file);
  Rng rng(0);
  t.model = make_model(t.config.model, t.pipeline.source_vocab.size(), t.pipeline.target_vocab.size(), rng);
  load_inference_parameters(*file, *t.model);
  if (is_quantized(*file)) t.model->set_inference_precision(Precision::int8);  // its int8 copies came with it
  t.model->eval();
  return t;
}

}  // namespace xseq
