#include "models/extra_layers.hpp"

#include "framework/ops.hpp"
#include "models/seq2seq.hpp"

namespace xseq {

std::vector<std::shared_ptr<SequenceLayer>> build_extra_layers(const std::vector<LayerArgs>& specs, std::int64_t dim,
                                                                float dropout, Rng& rng, const std::string& part) {
  std::vector<std::shared_ptr<SequenceLayer>> layers;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    LayerArgs args = specs[i];
    args.dim = dim;
    args.dropout = dropout;
    layers.push_back(make_layer(args, rng));
    const SequenceLayer::TimeMixing mixing = layers.back()->time_mixing();
    XSEQ_CHECK(part != "decoder_extra" || mixing != SequenceLayer::TimeMixing::bidirectional, "model.", part, "[", i,
               "]: layer '", args.type, "' is bidirectional (its time_mixing()): a decoder layer must be causal or ",
               "position_wise, because decoding produces one step at a time (docs/custom_layers.md)");
  }
  return layers;
}

Variable apply_extra_layers(const std::vector<std::shared_ptr<SequenceLayer>>& layers, Variable x,
                            const Lengths& lengths) {
  for (const auto& layer : layers) x = layer->forward(x, lengths);
  return x;
}

void ExtraLayerCache::select(const std::vector<std::int64_t>& rows) {
  for (auto& t : inputs)
    if (t.defined()) t = select_rows(t, rows);
}

Variable step_extra_layers(const std::vector<std::shared_ptr<SequenceLayer>>& layers, Variable x,
                           ExtraLayerCache& cache) {
  cache.inputs.resize(layers.size());
  const std::int64_t B = x.dim(0);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (layers[i]->time_mixing() == SequenceLayer::TimeMixing::position_wise) {
      x = layers[i]->forward(x, Lengths(static_cast<std::size_t>(B), 1));
      continue;
    }
    Tensor& prefix = cache.inputs[i];
    prefix = !prefix.defined() ? x.value() : concat({Variable(prefix), x}, 1).value();
    const std::int64_t T = prefix.dim(1);
    x = narrow(layers[i]->forward(Variable(prefix), Lengths(static_cast<std::size_t>(B), T)), 1, T - 1, 1);
  }
  return x;
}

}  // namespace xseq
