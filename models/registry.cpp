#include <algorithm>
#include <map>

#include "framework/named_registry.hpp"
#include "models/rnn_attention.hpp"
#include "models/transformer.hpp"

namespace xseq {
namespace {

// Built-in models are registered here (not by static initialisers) so they
// exist even when the linker drops unreferenced objects of a static library.
NamedRegistry<ModelFactory>& models() {
  static NamedRegistry<ModelFactory> registry(
      "model type",
      {{"transformer",
        [](const ModelConfig& c, std::int64_t sv, std::int64_t tv, Rng& rng) -> std::shared_ptr<Seq2SeqModel> {
          return std::make_shared<TransformerModel>(c, sv, tv, rng);
        }},
       {"rnn_attention",
        [](const ModelConfig& c, std::int64_t sv, std::int64_t tv, Rng& rng) -> std::shared_ptr<Seq2SeqModel> {
          return std::make_shared<RNNAttentionModel>(c, sv, tv, rng);
        }}});
  return registry;
}

}  // namespace

bool register_model(const std::string& name, ModelFactory factory) {
  models().add(name, std::move(factory));
  return true;
}

std::vector<std::string> registered_models() { return models().names(); }

std::vector<std::string> builtin_models() { return models().builtin_names(); }

std::shared_ptr<Seq2SeqModel> make_model(const ModelConfig& config, std::int64_t source_vocab,
                                         std::int64_t target_vocab, Rng& rng) {
  const ModelFactory factory = models().find(config.type);
  ModelConfig tracked = config;
  tracked.options.subject = "model type '" + config.type + "' ([model.options])";
  tracked.options.start_tracking();
  auto model = factory(tracked, source_vocab, target_vocab, rng);
  XSEQ_CHECK(model != nullptr, "model type '", config.type, "': its factory returned nothing");
  tracked.options.check_all_read();
  return model;
}

Tensor select_rows(const Tensor& t, const std::vector<std::int64_t>& rows) {
  Shape shape = t.shape();
  const std::int64_t row = t.numel() / std::max<std::int64_t>(1, shape[0]);
  shape[0] = static_cast<std::int64_t>(rows.size());
  Tensor out(shape);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    XSEQ_CHECK(rows[r] >= 0 && rows[r] < t.dim(0), "select_rows: row ", rows[r], " is outside [0, ", t.dim(0), ")");
    std::copy_n(t.data() + rows[r] * row, row, out.data() + static_cast<std::int64_t>(r) * row);
  }
  return out;
}

SourceWithEos append_source_eos(const IndexTensor& source, const Lengths& lengths) {
  XSEQ_CHECK(source.shape.ndim() == 2 && static_cast<std::int64_t>(lengths.size()) == source.shape[0],
             "model: source ids must be (batch, length) with one length per row, got ", source.shape, " and ",
             lengths.size(), " lengths");
  const std::int64_t B = source.shape[0], S = source.shape[1];
  SourceWithEos out{IndexTensor({B, S + 1}, std::vector<std::int32_t>(static_cast<std::size_t>(B * (S + 1)), 0)), lengths};
  for (std::int64_t b = 0; b < B; ++b) {
    const std::int64_t n = lengths[static_cast<std::size_t>(b)];
    XSEQ_CHECK(n >= 0 && n <= S, "model: source length ", n, " of row ", b, " is outside [0, ", S, "]");
    std::copy_n(source.data.data() + b * S, n, out.ids.data.data() + b * (S + 1));
    out.ids.data[static_cast<std::size_t>(b * (S + 1) + n)] = kSourceEosId;
    ++out.lengths[static_cast<std::size_t>(b)];
  }
  return out;
}

}  // namespace xseq

namespace xseq {

void set_model_precision(Seq2SeqModel& model, Precision p) {
  const std::string why = precision_unsupported(p);
  XSEQ_CHECK(why.empty(), "precision ", precision_name(p), ": ", why);
  if (p == Precision::int8) {
    for (const NamedParameter& w : model.int8_parameters())
      if (!w.variable.int8_weights())
        w.variable.set_int8_weights(std::make_shared<const QuantizedMatrix>(quantize_rows(w.variable.value())));
  }
  model.set_inference_precision(p);
}

}  // namespace xseq
