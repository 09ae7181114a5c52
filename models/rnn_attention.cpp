#include "models/rnn_attention.hpp"

#include "models/extra_layers.hpp"

namespace xseq {
namespace {

struct RNNState : DecoderState {
  DecoderAttention::Memory memory;
  Recurrent::State state;
  Variable feed;  // the previous attentional vector (input feeding)
  ExtraLayerCache extra;

  std::int64_t batch() const override { return memory.values.dim(0); }
  void select(const std::vector<std::int64_t>& rows) override {
    auto pick = [&](Variable& v) {
      if (v.defined()) v = Variable(select_rows(v.value(), rows));
    };
    pick(memory.keys);
    pick(memory.values);
    memory.mask = select_rows(memory.mask, rows);
    for (auto& h : state.h) pick(h);
    for (auto& c : state.c) pick(c);
    pick(feed);
    extra.select(rows);
  }
};

}  // namespace

RNNAttentionModel::RNNAttentionModel(const ModelConfig& c, std::int64_t source_vocab, std::int64_t target_vocab,
                                     Rng& rng)
    : config_(c), target_vocab_(target_vocab) {
  const CellType cell = parse_cell(c.cell);
  const std::int64_t H = c.hidden, E = c.embed_dim, dirs = c.bidirectional ? 2 : 1;
  XSEQ_CHECK(H > 0 && E > 0 && c.encoder_layers > 0 && c.decoder_layers > 0,
             "model: hidden, embed_dim, encoder_layers and decoder_layers must be positive");
  const Embedding::Options emb{0, false};
  src_embed_ = register_module("src_embed", std::make_shared<Embedding>(source_vocab, E, rng, emb));
  tgt_embed_ = register_module("tgt_embed", std::make_shared<Embedding>(target_vocab, E, rng, emb));
  encoder_ = register_module("encoder", std::make_shared<Recurrent>(
                                            E, H, rng, Recurrent::Options{cell, c.encoder_layers, c.bidirectional, c.dropout}));
  // Attention compares decoder states (H) with encoder outputs projected to H.
  if (c.bidirectional)
    encoder_proj_ = register_module("encoder_proj", std::make_shared<Dense>(dirs * H, H, rng, Dense::Options{false, Activation::none}));
  bridge_ = register_module("bridge", std::make_shared<Dense>(dirs * H, H, rng, Dense::Options{true, Activation::tanh}));
  for (auto& layer : build_extra_layers(c.encoder_extra, H, c.dropout, rng, "encoder_extra"))
    extra_.push_back(register_module("encoder_extra." + std::to_string(extra_.size()), layer));
  decoder_ = register_module("decoder", std::make_shared<Recurrent>(
                                            E + (c.input_feeding ? H : 0), H, rng,
                                            Recurrent::Options{cell, c.decoder_layers, false, c.dropout}));
  attention_ = register_module("attention", make_decoder_attention(c.attention, H, H, rng));
  if (!attention_->output_includes_query())
    combine_ = register_module("combine", std::make_shared<Dense>(attention_->output_dim() + H, H, rng,
                                                                  Dense::Options{false, Activation::tanh}));
  for (auto& layer : build_extra_layers(c.decoder_extra, H, c.dropout, rng, "decoder_extra"))
    decoder_extra_.push_back(register_module("decoder_extra." + std::to_string(decoder_extra_.size()), layer));
  output_ = register_module("output", std::make_shared<Dense>(H, target_vocab, rng));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(c.dropout, rng));
}

RNNAttentionModel::Encoded RNNAttentionModel::run_encoder(const IndexTensor& given, const Lengths& given_lengths) {
  XSEQ_CHECK(given.shape.ndim() == 2, "model: source ids must be (batch, length), got ", given.shape);
  const EncoderInput in(given, given_lengths, config_.source_eos);
  const IndexTensor& source = in.ids;
  const Lengths& lengths = in.lengths;
  const Recurrent::Result enc = encoder_->forward(dropout_->forward(src_embed_->forward(source)), lengths);
  Variable states = encoder_proj_ ? encoder_proj_->forward(enc.output) : enc.output;
  states = apply_extra_layers(extra_, states, lengths);
  Encoded e;
  e.memory = attention_->prepare(states, lengths);
  // The decoder starts from the top encoder layer's final states (both directions).
  const std::size_t dirs = config_.bidirectional ? 2 : 1, top = enc.h_last.size() - dirs;
  const Variable last = dirs == 2 ? concat({enc.h_last[top], enc.h_last[top + 1]}, 1) : enc.h_last[top];
  const Variable h0 = bridge_->forward(last);
  const std::int64_t B = source.shape[0];
  for (std::int64_t l = 0; l < config_.decoder_layers; ++l) {
    e.initial.h.push_back(h0);
    if (config_.cell == "lstm") e.initial.c.emplace_back(Tensor::zeros({B, config_.hidden}));
  }
  return e;
}

Variable RNNAttentionModel::attentional(const Variable& h, const DecoderAttention::Memory& memory,
                                        Variable* weights) const {
  AttentionResult r = attention_->attend(h, memory);
  if (weights) *weights = r.weights;
  if (!combine_) return r.output;  // the seed layer already mixes context and query
  return combine_->forward(concat({r.output, h}, h.ndim() - 1));
}

Variable RNNAttentionModel::logits(const IndexTensor& source, const Lengths& source_lengths,
                                   const IndexTensor& decoder_input, const Lengths& target_lengths) {
  Encoded e = run_encoder(source, source_lengths);
  const Variable embedded = dropout_->forward(tgt_embed_->forward(decoder_input));  // (B, T, E)
  const std::int64_t B = decoder_input.shape[0], T = decoder_input.shape[1];
  Variable att;
  if (!config_.input_feeding) {
    // Teacher forcing without feedback: the whole target in one recurrent pass,
    // then attention for all steps at once.
    const Variable h = decoder_->forward(embedded, target_lengths, &e.initial).output;
    att = attentional(h, e.memory, nullptr);
  } else {
    std::vector<Variable> steps;
    Recurrent::State state = e.initial;
    Variable feed(Tensor::zeros({B, config_.hidden}));
    for (std::int64_t t = 0; t < T; ++t) {
      const Variable x = concat({reshape(narrow(embedded, 1, t, 1), {B, config_.embed_dim}), feed}, 1);
      feed = attentional(decoder_->step(x, state), e.memory, nullptr);
      steps.push_back(feed);
    }
    att = stack(steps, 1);
  }
  return output_->forward(dropout_->forward(apply_extra_layers(decoder_extra_, att, target_lengths)));
}

std::unique_ptr<DecoderState> RNNAttentionModel::encode(const IndexTensor& source, const Lengths& source_lengths) {
  Encoded e = run_encoder(source, source_lengths);
  auto s = std::make_unique<RNNState>();
  s->memory = e.memory;
  s->state = e.initial;
  if (config_.input_feeding) s->feed = Variable(Tensor::zeros({source.shape[0], config_.hidden}));
  return s;
}

DecodeStep RNNAttentionModel::step(DecoderState& base, const std::vector<std::int32_t>& tokens) {
  auto& s = static_cast<RNNState&>(base);
  const auto B = static_cast<std::int64_t>(tokens.size());
  XSEQ_CHECK(B == s.batch(), "model: ", B, " tokens for a decoding batch of ", s.batch());
  Variable x = reshape(dropout_->forward(tgt_embed_->forward(IndexTensor({B, 1}, tokens))), {B, config_.embed_dim});
  if (config_.input_feeding) x = concat({x, s.feed}, 1);
  DecodeStep out;
  const Variable att = attentional(decoder_->step(x, s.state), s.memory, &out.attention);
  if (config_.input_feeding) s.feed = att;
  Variable hidden = att;
  if (!decoder_extra_.empty())
    hidden = reshape(step_extra_layers(decoder_extra_, reshape(att, {B, 1, config_.hidden}), s.extra), {B, config_.hidden});
  out.log_probs = log_softmax(output_->forward(dropout_->forward(hidden)));
  return out;
}

}  // namespace xseq
