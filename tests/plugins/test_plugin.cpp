// A plugin the [plugin] tests load with --plugin: one of each extension point,
// written only against xseq's public headers, as a user would.
//   test_glu            a position-wise gated linear unit (decoder_extra or encoder_extra)
//   test_prev_mix       a causal layer: y_t = x_t + W x_{t-1}
//   test_scaled_dot     an RNN decoder attention score: q.k / sqrt(d) * temperature
//   test_wrapped_model  a model type: a Transformer whose depth comes from [model.options]
#include <cmath>

#include <framework/xseq.hpp>
#include <models/transformer.hpp>

namespace {

using namespace xseq;

// y = x + (W_a x) * sigmoid(W_b x + gate_bias)
class Glu : public SequenceLayer {
 public:
  Glu(std::int64_t dim, float gate_bias, Rng& rng) : gate_bias_(gate_bias) {
    value_ = register_module("value", std::make_shared<Dense>(dim, dim, rng));
    gate_ = register_module("gate", std::make_shared<Dense>(dim, dim, rng));
  }
  Variable forward(const Variable& x, const Lengths&) override {
    return x + value_->forward(x) * sigmoid(gate_->forward(x) + gate_bias_);
  }
  TimeMixing time_mixing() const override { return TimeMixing::position_wise; }

 private:
  float gate_bias_;
  std::shared_ptr<Dense> value_, gate_;
};

// y_t = x_t + W x_{t-1} (x_{-1} = 0): output t reads inputs t and t - 1 only.
class PrevMix : public SequenceLayer {
 public:
  PrevMix(std::int64_t dim, Rng& rng) { mix_ = register_module("mix", std::make_shared<Dense>(dim, dim, rng)); }
  Variable forward(const Variable& x, const Lengths&) override {
    const std::int64_t B = x.dim(0), T = x.dim(1), D = x.dim(2);
    Variable previous(Tensor::zeros({B, 1, D}));
    if (T > 1) previous = concat({previous, narrow(x, 1, 0, T - 1)}, 1);
    return x + mix_->forward(previous);
  }
  TimeMixing time_mixing() const override { return TimeMixing::causal; }

 private:
  std::shared_ptr<Dense> mix_;
};

// Scaled dot-product scores with a fixed temperature; the values are the encoder states.
class ScaledDot : public DecoderAttention {
 public:
  ScaledDot(std::int64_t dim, float temperature) : dim_(dim), temperature_(temperature) {}
  std::int64_t output_dim() const override { return dim_; }

 protected:
  Variable scores(const Variable& query, const Memory& memory) const override {
    return matmul(query, memory.keys, false, true) * (temperature_ / std::sqrt(float(dim_)));
  }

 private:
  std::int64_t dim_;
  float temperature_;
};

}  // namespace

XSEQ_REGISTER_LAYER(test_glu, [](const LayerArgs& a, Rng& rng) -> std::shared_ptr<SequenceLayer> {
  return std::make_shared<Glu>(a.dim, static_cast<float>(a.get("gate_bias", 0.0)), rng);
});

XSEQ_REGISTER_LAYER(test_prev_mix, [](const LayerArgs& a, Rng& rng) -> std::shared_ptr<SequenceLayer> {
  return std::make_shared<PrevMix>(a.dim, rng);
});

XSEQ_REGISTER_DECODER_ATTENTION(test_scaled_dot, [](std::int64_t q, std::int64_t k, Rng&) -> std::shared_ptr<DecoderAttention> {
  XSEQ_CHECK(q == k, "attention 'test_scaled_dot': query (", q, ") and keys (", k, ") must be equally wide");
  return std::make_shared<ScaledDot>(k, 1.0f);
});

// A model type with options of its own: [model.options] depth (required) and
// pre_norm (optional) reach this factory and nothing else.
static const bool test_model_registered = register_model(
    "test_wrapped_model",
    [](const ModelConfig& config, std::int64_t source_vocab, std::int64_t target_vocab, Rng& rng)
        -> std::shared_ptr<Seq2SeqModel> {
      ModelConfig c = config;
      c.encoder_layers = c.decoder_layers = config.options.require_int("depth");
      c.norm_first = config.options.get_bool("pre_norm", true);
      return std::make_shared<TransformerModel>(c, source_vocab, target_vocab, rng);
    });
