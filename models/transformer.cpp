#include "models/transformer.hpp"

#include "models/extra_layers.hpp"

#include <cmath>

namespace xseq {
namespace {

struct TransformerState : DecoderState {
  Variable memory;
  Tensor padding;  // (B, S) additive
  Lengths lengths;
  std::vector<DecoderLayerCache> caches;
  ExtraLayerCache extra;
  std::int64_t position = 0;

  std::int64_t batch() const override { return memory.dim(0); }
  void select(const std::vector<std::int64_t>& rows) override {
    memory = Variable(select_rows(memory.value(), rows));
    padding = select_rows(padding, rows);
    Lengths l;
    for (auto r : rows) l.push_back(lengths[static_cast<std::size_t>(r)]);
    lengths = l;
    extra.select(rows);
    for (auto& c : caches)
      for (KVCache* kv : {&c.self_attn, &c.cross_attn})
        if (kv->length() > 0) {
          kv->keys = select_rows(kv->keys, rows);
          kv->values = select_rows(kv->values, rows);
        }
  }
};

}  // namespace

TransformerModel::TransformerModel(const ModelConfig& c, std::int64_t source_vocab, std::int64_t target_vocab,
                                   Rng& rng)
    : config_(c), target_vocab_(target_vocab) {
  XSEQ_CHECK(c.d_model > 0 && c.heads > 0 && c.d_model % c.heads == 0, "model: d_model (", c.d_model,
             ") must be a positive multiple of heads (", c.heads, ")");
  XSEQ_CHECK(!c.share_embeddings || source_vocab == target_vocab,
             "model: share_embeddings needs one vocabulary for both sides (set data.shared_vocab = true)");
  const Embedding::Options emb{0, true};  // <pad> = 0, scaled by sqrt(d_model)
  src_embed_ = register_module("src_embed", std::make_shared<Embedding>(source_vocab, c.d_model, rng, emb));
  tgt_embed_ = c.share_embeddings
                   ? src_embed_
                   : register_module("tgt_embed", std::make_shared<Embedding>(target_vocab, c.d_model, rng, emb));
  if (c.positions == "learned") {
    src_pos_ = register_module("src_pos", std::make_shared<LearnedPositions>(c.max_positions, c.d_model, rng));
    tgt_pos_ = register_module("tgt_pos", std::make_shared<LearnedPositions>(c.max_positions, c.d_model, rng));
  } else {
    XSEQ_CHECK(c.positions == "sinusoidal", "model: positions '", c.positions, "' (expected sinusoidal or learned)");
    src_pos_ = std::make_shared<SinusoidalPositions>(c.d_model);
    tgt_pos_ = std::make_shared<SinusoidalPositions>(c.d_model);
  }
  TransformerLayerOptions o;
  o.heads = c.heads;
  o.ff_dim = c.ff_dim;
  o.dropout = c.dropout;
  o.activation = parse_activation(c.activation);
  o.norm_first = c.norm_first;
  for (std::int64_t i = 0; i < c.encoder_layers; ++i)
    encoder_.push_back(register_module("encoder.layers." + std::to_string(i),
                                       std::make_shared<TransformerEncoderLayer>(c.d_model, rng, o)));
  for (auto& layer : build_extra_layers(c.encoder_extra, c.d_model, c.dropout, rng, "encoder_extra"))
    extra_.push_back(register_module("encoder_extra." + std::to_string(extra_.size()), layer));
  for (std::int64_t i = 0; i < c.decoder_layers; ++i)
    decoder_.push_back(register_module("decoder.layers." + std::to_string(i),
                                       std::make_shared<TransformerDecoderLayer>(c.d_model, rng, o)));
  if (c.norm_first) {  // pre-norm stacks end with a norm (the residual stream is unnormalised)
    encoder_norm_ = register_module("encoder.norm", std::make_shared<LayerNorm>(c.d_model));
    decoder_norm_ = register_module("decoder.norm", std::make_shared<LayerNorm>(c.d_model));
  }
  for (auto& layer : build_extra_layers(c.decoder_extra, c.d_model, c.dropout, rng, "decoder_extra"))
    decoder_extra_.push_back(register_module("decoder_extra." + std::to_string(decoder_extra_.size()), layer));
  if (!c.tie_output)
    output_ = register_module("output", std::make_shared<Dense>(c.d_model, target_vocab, rng));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(c.dropout, rng));
}

Variable TransformerModel::embed(const Embedding& table, Module& positions, const IndexTensor& ids,
                                 std::int64_t offset) {
  Variable x = table.forward(ids);
  if (auto* sin = dynamic_cast<SinusoidalPositions*>(&positions)) x = sin->forward(x, offset);
  else x = static_cast<LearnedPositions&>(positions).forward(x, offset);
  return dropout_->forward(x);
}

Variable TransformerModel::encode_memory(const IndexTensor& source, const Lengths& lengths, const Tensor& padding) {
  XSEQ_CHECK(source.shape.ndim() == 2, "model: source ids must be (batch, length), got ", source.shape);
  Variable x = embed(*src_embed_, *src_pos_, source, 0);
  for (auto& layer : encoder_) x = layer->forward(x, padding);
  if (encoder_norm_) x = encoder_norm_->forward(x);
  return apply_extra_layers(extra_, x, lengths);
}

std::vector<NamedParameter> TransformerModel::int8_parameters() const {
  std::vector<NamedParameter> out = dense_weights(*this);
  if (!output_)
    for (const NamedParameter& p : named_parameters())
      if (p.variable.value().data() == tgt_embed_->weight().value().data()) out.push_back(p);
  return out;
}

Variable TransformerModel::project(const Variable& h) const {
  return output_ ? output_->forward(h) : matmul(h, tgt_embed_->weight(), false, true);
}

Variable TransformerModel::logits(const IndexTensor& source, const Lengths& source_lengths,
                                  const IndexTensor& decoder_input, const Lengths& target_lengths) {
  const EncoderInput in(source, source_lengths, config_.source_eos);
  const Tensor padding = key_padding_mask(in.lengths, in.ids.shape[1]);
  const Variable memory = encode_memory(in.ids, in.lengths, padding);
  Variable h = embed(*tgt_embed_, *tgt_pos_, decoder_input, 0);
  for (auto& layer : decoder_)
    h = layer->forward(h, memory, padding, nullptr, MultiHeadAttention::Weights::none).output;
  if (decoder_norm_) h = decoder_norm_->forward(h);
  return project(apply_extra_layers(decoder_extra_, h, target_lengths));
}

std::unique_ptr<DecoderState> TransformerModel::encode(const IndexTensor& source, const Lengths& source_lengths) {
  const EncoderInput in(source, source_lengths, config_.source_eos);
  auto state = std::make_unique<TransformerState>();
  state->padding = key_padding_mask(in.lengths, in.ids.shape[1]);
  state->memory = encode_memory(in.ids, in.lengths, state->padding);
  state->lengths = in.lengths;
  state->caches.resize(decoder_.size());
  return state;
}

DecodeStep TransformerModel::step(DecoderState& base, const std::vector<std::int32_t>& tokens) {
  auto& state = static_cast<TransformerState&>(base);
  const auto B = static_cast<std::int64_t>(tokens.size());
  XSEQ_CHECK(B == state.batch(), "model: ", B, " tokens for a decoding batch of ", state.batch());
  Variable h = embed(*tgt_embed_, *tgt_pos_, IndexTensor({B, 1}, tokens), state.position);
  Variable heads;  // the last layer's cross-attention per head, (B, heads, 1, S)
  for (std::size_t l = 0; l < decoder_.size(); ++l) {
    const bool last = l + 1 == decoder_.size() && state.keep_attention;
    AttentionResult r = decoder_[l]->forward(h, state.memory, state.padding, &state.caches[l],
                                             last ? MultiHeadAttention::Weights::per_head
                                                  : MultiHeadAttention::Weights::none);
    h = r.output;
    if (last) heads = r.weights;
  }
  if (decoder_norm_) h = decoder_norm_->forward(h);
  if (!decoder_extra_.empty()) h = step_extra_layers(decoder_extra_, h, state.extra);
  ++state.position;
  DecodeStep out;
  out.log_probs = log_softmax(reshape(project(h), {B, target_vocab_}));
  if (!state.keep_attention) return out;
  const std::int64_t S = state.memory.dim(1);
  out.head_attention = reshape(heads, {B, heads.dim(1), S});
  out.attention = mean(out.head_attention, {1});
  return out;
}

}  // namespace xseq
