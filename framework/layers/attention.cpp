#include "framework/layers/attention.hpp"

#include <cmath>
#include <limits>

#include "framework/named_registry.hpp"

namespace xseq {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void check_lengths(const Lengths& lengths, std::int64_t max_len, const char* who) {
  for (std::size_t b = 0; b < lengths.size(); ++b)
    XSEQ_CHECK(lengths[b] >= 1 && lengths[b] <= max_len, who, ": lengths[", b, "] = ", lengths[b],
               " must be in [1, ", max_len, "] (the padded length)");
}

// v_a . tanh(qp + k) for every (query step, key): qp (B, Tq, A), keys (B, T, A) -> (B, Tq, T).
Variable additive_scores(const Variable& qp, const Variable& keys, const Variable& v_a) {
  const std::int64_t B = qp.dim(0), Tq = qp.dim(1), A = qp.dim(2), T = keys.dim(1);
  Variable h = tanh(reshape(qp, {B, Tq, 1, A}) + reshape(keys, {B, 1, T, A}));
  return reshape(matmul(h, reshape(v_a, {A, 1})), {B, Tq, T});
}

}  // namespace

// ---- masks ----------------------------------------------------------------------------
Tensor key_padding_mask(const Lengths& lengths, std::int64_t max_len) {
  check_lengths(lengths, max_len, "key_padding_mask");
  const std::int64_t B = static_cast<std::int64_t>(lengths.size());
  Tensor m({B, max_len});
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < max_len; ++t) m.data()[b * max_len + t] = t < lengths[b] ? 0.0f : kNegInf;
  return m;
}

Tensor causal_mask(std::int64_t tq, std::int64_t tk) {
  XSEQ_CHECK(tq <= tk, "causal_mask: more queries (", tq, ") than keys (", tk, ")");
  Tensor m({tq, tk});
  const std::int64_t shift = tk - tq;
  for (std::int64_t i = 0; i < tq; ++i)
    for (std::int64_t j = 0; j < tk; ++j) m.data()[i * tk + j] = j <= shift + i ? 0.0f : kNegInf;
  return m;
}

Tensor valid_positions(const Lengths& lengths, std::int64_t max_len) {
  check_lengths(lengths, max_len, "valid_positions");
  const std::int64_t B = static_cast<std::int64_t>(lengths.size());
  Tensor m({B, max_len, 1});
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < max_len; ++t) m.data()[b * max_len + t] = t < lengths[b] ? 1.0f : 0.0f;
  return m;
}

// ---- scaled dot-product attention -----------------------------------------------------------
AttentionResult scaled_dot_product_attention(const Variable& q, const Variable& k, const Variable& v,
                                             const Tensor& mask, float dropout_p, bool training, Rng* rng) {
  XSEQ_CHECK(q.ndim() >= 2 && q.ndim() == k.ndim() && k.ndim() == v.ndim(),
             "scaled_dot_product_attention: q ", q.shape(), ", k ", k.shape(), " and v ", v.shape(),
             " must have the same rank (>= 2)");
  XSEQ_CHECK(q.dim(-1) == k.dim(-1) && k.dim(-2) == v.dim(-2), "scaled_dot_product_attention: q ", q.shape(),
             " and k ", k.shape(), " must share the feature size, k and v ", v.shape(), " the key count");
  // Scale q (Tq x d elements) rather than the scores (Tq x Tk).
  const Variable scores = matmul(q * (1.0f / std::sqrt(float(q.dim(-1)))), k, false, true);
  AttentionResult r;
  r.weights = softmax(scores, mask);
  Variable w = r.weights;
  if (training && dropout_p > 0.0f) {
    XSEQ_CHECK(rng != nullptr, "scaled_dot_product_attention: dropout needs an Rng");
    w = dropout(w, dropout_p, true, *rng);
  }
  r.output = matmul(w, v);
  return r;
}

// ---- DecoderAttention ---------------------------------------------------------------------
DecoderAttention::Memory DecoderAttention::prepare(const Variable& states, const Lengths& lengths) const {
  XSEQ_CHECK(states.ndim() == 3 && static_cast<std::int64_t>(lengths.size()) == states.dim(0),
             "attention: encoder states ", states.shape(), " must be (batch, time, hidden) with one length per ",
             "sequence (got ", lengths.size(), " lengths)");
  Memory m;
  m.keys = states;
  m.values = states;
  m.mask = key_padding_mask(lengths, states.dim(1)).reshape({states.dim(0), 1, states.dim(1)});
  return m;
}

AttentionResult DecoderAttention::attend(const Variable& query, const Memory& memory) const {
  XSEQ_CHECK((query.ndim() == 2 || query.ndim() == 3) && query.dim(0) == memory.values.dim(0),
             "attention: query ", query.shape(), " must be (batch, hidden) or (batch, steps, hidden) with batch ",
             memory.values.dim(0));
  const bool single_step = query.ndim() == 2;
  const std::int64_t B = query.dim(0);
  const Variable q = single_step ? reshape(query, {B, 1, query.dim(1)}) : query;
  AttentionResult r;
  r.weights = softmax(scores(q, memory), memory.mask);
  r.output = combine(matmul(r.weights, memory.values), q);
  if (single_step) {
    r.output = reshape(r.output, {B, r.output.dim(2)});
    r.weights = reshape(r.weights, {B, r.weights.dim(2)});
  }
  return r;
}

// ---- SeedAttention --------------------------------------------------------------------------
SeedAttention::SeedAttention(std::int64_t hidden, std::int64_t units, Rng& rng)
    : hidden_(hidden),
      units_(units),
      w1_(register_module("W1", std::make_shared<Dense>(hidden, units, rng, Dense::Options{true, Activation::relu}))),
      w2_(register_module("W2", std::make_shared<Dense>(hidden, units, rng))) {}

Variable SeedAttention::scores(const Variable& q, const Memory& m) const {
  XSEQ_CHECK(q.dim(2) == hidden_ && m.keys.dim(2) == hidden_, "SeedAttention: query ", q.shape(),
             " and values ", m.keys.shape(), " must both have hidden size ", hidden_);
  return matmul(q * (1.0f / std::sqrt(float(hidden_))), m.keys, false, true);
}

Variable SeedAttention::combine(const Variable& context, const Variable& query) const {
  return w1_->forward(context) + w2_->forward(query);
}

// ---- LuongAttention ---------------------------------------------------------------------------
LuongAttention::LuongAttention(Score score, std::int64_t query_dim, std::int64_t key_dim, Rng& rng,
                               std::int64_t attention_dim)
    : score_(score), query_dim_(query_dim), key_dim_(key_dim) {
  const Dense::Options no_bias{false, Activation::none};
  if (score == Score::dot) {
    XSEQ_CHECK(query_dim == key_dim, "LuongAttention(dot): query size ", query_dim, " must equal key size ",
               key_dim, " (use 'general' to compare different sizes)");
  } else if (score == Score::general) {
    w_a_ = register_module("W_a", std::make_shared<Dense>(key_dim, query_dim, rng, no_bias));
  } else {
    const std::int64_t A = attention_dim > 0 ? attention_dim : query_dim;
    w_q_ = register_module("W_q", std::make_shared<Dense>(query_dim, A, rng, no_bias));
    w_k_ = register_module("W_k", std::make_shared<Dense>(key_dim, A, rng, no_bias));
    Tensor v({A});
    init::uniform(v, -1.0f / std::sqrt(float(A)), 1.0f / std::sqrt(float(A)), rng);
    v_a_ = register_parameter("v_a", std::move(v));
  }
}

DecoderAttention::Memory LuongAttention::prepare(const Variable& states, const Lengths& lengths) const {
  Memory m = DecoderAttention::prepare(states, lengths);
  XSEQ_CHECK(states.dim(2) == key_dim_, "LuongAttention: encoder states ", states.shape(), " must have ",
             key_dim_, " features");
  if (score_ == Score::general) m.keys = w_a_->forward(states);
  if (score_ == Score::concat) m.keys = w_k_->forward(states);
  return m;
}

Variable LuongAttention::scores(const Variable& q, const Memory& m) const {
  XSEQ_CHECK(q.dim(2) == query_dim_, "LuongAttention: query ", q.shape(), " must have ", query_dim_, " features");
  if (score_ == Score::concat) return additive_scores(w_q_->forward(q), m.keys, v_a_);
  return matmul(q, m.keys, false, true);
}

// ---- AdditiveAttention ----------------------------------------------------------------------------
AdditiveAttention::AdditiveAttention(std::int64_t query_dim, std::int64_t key_dim, std::int64_t attention_dim,
                                     Rng& rng)
    : key_dim_(key_dim),
      w_q_(register_module("W_q", std::make_shared<Dense>(query_dim, attention_dim, rng,
                                                          Dense::Options{false, Activation::none}))),
      w_k_(register_module("W_k", std::make_shared<Dense>(key_dim, attention_dim, rng))) {
  Tensor v({attention_dim});
  init::uniform(v, -1.0f / std::sqrt(float(attention_dim)), 1.0f / std::sqrt(float(attention_dim)), rng);
  v_a_ = register_parameter("v_a", std::move(v));
}

DecoderAttention::Memory AdditiveAttention::prepare(const Variable& states, const Lengths& lengths) const {
  Memory m = DecoderAttention::prepare(states, lengths);
  m.keys = w_k_->forward(states);
  return m;
}

Variable AdditiveAttention::scores(const Variable& q, const Memory& m) const {
  return additive_scores(w_q_->forward(q), m.keys, v_a_);
}

namespace {

NamedRegistry<DecoderAttentionFactory>& decoder_attentions() {
  using Score = LuongAttention::Score;
  auto luong = [](Score score) {
    return [score](std::int64_t q, std::int64_t k, Rng& rng) { return std::make_shared<LuongAttention>(score, q, k, rng); };
  };
  static NamedRegistry<DecoderAttentionFactory> registry(
      "decoder attention",
      {{"seed",
        [](std::int64_t q, std::int64_t k, Rng& rng) -> std::shared_ptr<DecoderAttention> {
          XSEQ_CHECK(q == k, "attention 'seed': the decoder state (", q, ") and the encoder states (", k,
                     ") must have the same size");
          return std::make_shared<SeedAttention>(k, q, rng);
        }},
       {"dot", luong(Score::dot)},
       {"general", luong(Score::general)},
       {"concat", luong(Score::concat)},
       {"additive", [](std::int64_t q, std::int64_t k, Rng& rng) -> std::shared_ptr<DecoderAttention> {
          return std::make_shared<AdditiveAttention>(q, k, q, rng);
        }}});
  return registry;
}

}  // namespace

bool register_decoder_attention(const std::string& name, DecoderAttentionFactory factory) {
  decoder_attentions().add(name, std::move(factory));
  return true;
}

std::vector<std::string> registered_decoder_attentions() { return decoder_attentions().names(); }

std::vector<std::string> builtin_decoder_attentions() { return decoder_attentions().builtin_names(); }

std::shared_ptr<DecoderAttention> make_decoder_attention(const std::string& kind, std::int64_t query_dim,
                                                         std::int64_t key_dim, Rng& rng) {
  return decoder_attentions().find(kind)(query_dim, key_dim, rng);
}

// ---- SelfAttentionPooling ----------------------------------------------------------------------------
SelfAttentionPooling::SelfAttentionPooling(std::int64_t dim, Pooling pooling, Rng& rng)
    : pooling_(pooling),
      q_(register_module("q", std::make_shared<Dense>(dim, dim, rng, Dense::Options{false, Activation::none}))),
      k_(register_module("k", std::make_shared<Dense>(dim, dim, rng, Dense::Options{false, Activation::none}))),
      v_(register_module("v", std::make_shared<Dense>(dim, dim, rng, Dense::Options{false, Activation::none}))) {}

AttentionResult SelfAttentionPooling::forward(const Variable& x, const Lengths& lengths) const {
  XSEQ_CHECK(x.ndim() == 3 && static_cast<std::int64_t>(lengths.size()) == x.dim(0),
             "SelfAttentionPooling: input ", x.shape(), " must be (batch, time, dim) with one length per sequence");
  const std::int64_t B = x.dim(0), T = x.dim(1);
  const Tensor mask = key_padding_mask(lengths, T).reshape({B, 1, T});
  AttentionResult r = scaled_dot_product_attention(q_->forward(x), k_->forward(x), v_->forward(x), mask);
  const Tensor valid = valid_positions(lengths, T);
  if (pooling_ == Pooling::mean) {
    Tensor count({B, 1});
    for (std::int64_t b = 0; b < B; ++b) count.data()[b] = float(lengths[b]);
    r.output = sum(r.output * Variable(valid), {1}) / Variable(count);
  } else {
    Tensor padded(valid.shape());
    for (std::int64_t i = 0; i < valid.numel(); ++i) padded.data()[i] = 1.0f - valid.data()[i];
    r.output = max(masked_fill(r.output, padded, kNegInf), 1);
  }
  return r;
}

}  // namespace xseq
