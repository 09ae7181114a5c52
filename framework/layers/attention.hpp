// The attention family. Every layer takes the actual sequence lengths (or a
// key-padding mask built from them) and returns both its output and its
// attention weights. Formulas and shapes: docs/layers.md.
#pragma once


#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "framework/layers/basic.hpp"

namespace xseq {

using Lengths = std::vector<std::int64_t>;

struct AttentionResult {
  Variable output;
  Variable weights;  ///< softmax weights (before dropout); padded keys get exactly 0
};

// ---- masks (additive: 0 keeps a position, -inf removes it) -----------------------
/// (B, max_len): position t of sequence b is removed when t >= lengths[b].
Tensor key_padding_mask(const Lengths& lengths, std::int64_t max_len);
/// (Tq, Tk): query i (the (Tk - Tq + i)-th position overall) sees keys j <= Tk - Tq + i,
/// so the same mask serves a full pass (Tq == Tk) and cached decoding (Tq < Tk).
Tensor causal_mask(std::int64_t tq, std::int64_t tk);
/// (B, T, 1): 1 at valid positions, 0 at padding (for pooling and masking outputs).
Tensor valid_positions(const Lengths& lengths, std::int64_t max_len);

/// softmax(q k^T / sqrt(d) + mask) v for q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv);
/// `mask` broadcasts to (..., Tq, Tk). Dropout (probability dropout_p, training
/// only) is applied to the weights before they multiply v.
AttentionResult scaled_dot_product_attention(const Variable& q, const Variable& k, const Variable& v,
                                             const Tensor& mask = Tensor(), float dropout_p = 0.0f,
                                             bool training = false, Rng* rng = nullptr);

// ---- encoder-decoder attention: a decoder state attends over encoder states ----
/// The common interface of SeedAttention and the Luong / Bahdanau scorers, so a
/// model can pick one by name. prepare() does the per-sentence work once (key
/// projections, the mask); attend() runs per decoder step (query (B, Hq)) or for
/// all steps at once (query (B, Tq, Hq)).
class DecoderAttention : public Module {
 public:
  struct Memory {
    Variable keys;    ///< what scores compare against (possibly projected), (B, T, .)
    Variable values;  ///< what the weights average, (B, T, Hv)
    Tensor mask;      ///< additive key-padding mask, (B, 1, T)
  };
  virtual Memory prepare(const Variable& encoder_states, const Lengths& lengths) const;
  /// output (B, [Tq,] output_dim()), weights (B, [Tq,] T).
  AttentionResult attend(const Variable& query, const Memory& memory) const;
  /// attend(query, prepare(values, lengths)).
  AttentionResult forward(const Variable& query, const Variable& values, const Lengths& lengths) const {
    return attend(query, prepare(values, lengths));
  }
  virtual std::int64_t output_dim() const = 0;
  /// True when the output already mixes in the query (the seed's W2 query term), so a
  /// model needs no combine layer of its own (rnn_attention adds one otherwise).
  virtual bool output_includes_query() const { return false; }

 protected:
  /// Raw scores (B, Tq, T) for a 3-d query.
  virtual Variable scores(const Variable& query, const Memory& memory) const = 0;
  /// Turns the context (B, Tq, Hv) into the output (default: the context itself).
  virtual Variable combine(const Variable& context, const Variable& query) const {
    (void)query;
    return context;
  }
};

/// The seed document's AttentionLayer(units), exactly: query (B, H), values
/// (B, T, H), lengths (B);
///   scores = query . values^T / sqrt(H), weights = softmax over valid positions,
///   context = weights . values, output = relu(W1 context) + W2 query.
/// Parameters: W1.weight (units, H), W1.bias, W2.weight (units, H), W2.bias.
class SeedAttention : public DecoderAttention {
 public:
  SeedAttention(std::int64_t hidden, std::int64_t units, Rng& rng);
  std::int64_t output_dim() const override { return units_; }

 protected:
  Variable scores(const Variable& query, const Memory& memory) const override;
  Variable combine(const Variable& context, const Variable& query) const override;
  bool output_includes_query() const override { return true; }

 private:
  std::int64_t hidden_, units_;
  std::shared_ptr<Dense> w1_, w2_;
};

/// Luong et al. (2015) scores; the output is the context vector.
///   dot:     score = q . k                         (Hq == Hk)
///   general: score = q . (W_a k)                   W_a: Dense(Hk -> Hq, no bias), param "W_a"
///   concat:  score = v_a . tanh(W_q q + W_k k)     params "W_q", "W_k" (no bias), "v_a" (A)
class LuongAttention : public DecoderAttention {
 public:
  enum class Score { dot, general, concat };
  LuongAttention(Score score, std::int64_t query_dim, std::int64_t key_dim, Rng& rng,
                 std::int64_t attention_dim = 0 /* concat: 0 = query_dim */);
  Memory prepare(const Variable& encoder_states, const Lengths& lengths) const override;
  std::int64_t output_dim() const override { return key_dim_; }

 protected:
  Variable scores(const Variable& query, const Memory& memory) const override;

 private:
  Score score_;
  std::int64_t query_dim_, key_dim_;
  std::shared_ptr<Dense> w_a_, w_q_, w_k_;
  Variable v_a_;
};

/// Bahdanau et al. (2015) additive attention: score = v_a . tanh(W_q q + W_k k + b);
/// params "W_q" (no bias), "W_k" (with the bias b), "v_a" (A). Output: the context.
class AdditiveAttention : public DecoderAttention {
 public:
  AdditiveAttention(std::int64_t query_dim, std::int64_t key_dim, std::int64_t attention_dim, Rng& rng);
  Memory prepare(const Variable& encoder_states, const Lengths& lengths) const override;
  std::int64_t output_dim() const override { return key_dim_; }

 protected:
  Variable scores(const Variable& query, const Memory& memory) const override;

 private:
  std::int64_t key_dim_;
  std::shared_ptr<Dense> w_q_, w_k_;
  Variable v_a_;
};

/// Decoder attentions by name (model.attention): the built-in "seed", "dot", "general",
/// "concat" and "additive", and any registered with register_decoder_attention.
using DecoderAttentionFactory =
    std::function<std::shared_ptr<DecoderAttention>(std::int64_t query_dim, std::int64_t key_dim, Rng& rng)>;
/// Registers a decoder attention (an error if the name is taken); returns true so it
/// can initialise a static: see XSEQ_REGISTER_DECODER_ATTENTION.
bool register_decoder_attention(const std::string& name, DecoderAttentionFactory factory);
/// Every registered name, sorted.
std::vector<std::string> registered_decoder_attentions();
/// The ones xseq ships (for docs that must not depend on what a program registered).
std::vector<std::string> builtin_decoder_attentions();
/// Builds attention `kind` for a decoder state of query_dim over encoder states of
/// key_dim; an unknown kind is an error listing the registered ones.
std::shared_ptr<DecoderAttention> make_decoder_attention(const std::string& kind, std::int64_t query_dim,
                                                         std::int64_t key_dim, Rng& rng);

/// The seed's self-attention: Q, K, V projections of the same sequence x
/// (B, T, D), single-head scaled dot-product attention over valid positions,
/// then mean or max pooling over the valid positions: output (B, D), weights
/// (B, T, T). Parameters: q, k, v (Dense D -> D, no bias).
class SelfAttentionPooling : public Module {
 public:
  enum class Pooling { mean, max };
  SelfAttentionPooling(std::int64_t dim, Pooling pooling, Rng& rng);
  AttentionResult forward(const Variable& x, const Lengths& lengths) const;

 private:
  Pooling pooling_;
  std::shared_ptr<Dense> q_, k_, v_;
};

}  // namespace xseq

/// Registers a decoder attention at start-up from any .cpp of the program:
///   XSEQ_REGISTER_DECODER_ATTENTION(my_score, [](std::int64_t q, std::int64_t k, xseq::Rng& rng) { ... });
#define XSEQ_REGISTER_DECODER_ATTENTION(name, factory) \
  static const bool xseq_attention_registered_##name = ::xseq::register_decoder_attention(#name, factory)
