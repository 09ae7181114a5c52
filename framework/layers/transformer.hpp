// Transformer encoder and decoder layers (Vaswani et al. 2017), pre-norm by
// default (as torch's norm_first=True), post-norm as an option.
#pragma once

#include <memory>

#include "framework/layers/multihead.hpp"
#include "framework/layers/registry.hpp"

namespace xseq {

struct TransformerLayerOptions {
  std::int64_t heads = 4;
  std::int64_t ff_dim = 1024;
  float dropout = 0.1f;  ///< on sublayer outputs, inside the feed-forward and on attention weights
  Activation activation = Activation::relu;
  bool norm_first = true;  ///< pre-norm; false = post-norm (the original paper)
  float eps = 1e-5f;
};

/// pre-norm:  x = x + drop(self_attn(norm1(x)));  x = x + drop(ff(norm2(x)))
/// post-norm: x = norm1(x + drop(self_attn(x)));  x = norm2(x + drop(ff(x)))
/// Parameters: self_attn.*, ff.linear1.*, ff.linear2.*, norm1.*, norm2.*.
class TransformerEncoderLayer : public SequenceLayer {
 public:
  TransformerEncoderLayer(std::int64_t d_model, Rng& rng, TransformerLayerOptions options);
  /// x (B, T, d_model); key_padding = key_padding_mask(lengths, T).
  Variable forward(const Variable& x, const Tensor& key_padding);
  Variable forward(const Variable& x, const Lengths& lengths) override {
    return forward(x, key_padding_mask(lengths, x.dim(1)));
  }
  /// Asks eval-mode forward calls to keep their self-attention weights for
  /// last_weights(). Off by default: the weights are (B, T, T), and asking for
  /// them takes the materialised O(T^2) kernel instead of the tiled one, which
  /// on 1,000-token inputs made every encoder pass of decoding page-fault its way
  /// through hundreds of MB.
  void keep_weights(bool keep) { keep_weights_ = keep; }
  /// The head-averaged self-attention weights (B, T, T) of the last eval-mode
  /// forward call made with keep_weights(true); undefined otherwise.
  const Variable& last_weights() const { return last_weights_; }

 private:
  TransformerLayerOptions options_;
  std::shared_ptr<MultiHeadAttention> self_attn_;
  std::shared_ptr<FeedForward> ff_;
  std::shared_ptr<LayerNorm> norm1_, norm2_;
  std::shared_ptr<Dropout> dropout_;
  bool keep_weights_ = false;
  Variable last_weights_;
};

/// The caches of one decoder layer for incremental decoding.
struct DecoderLayerCache {
  KVCache self_attn, cross_attn;
};

/// pre-norm:  x = x + drop(self_attn(norm1(x), causal));
///            x = x + drop(cross_attn(norm2(x), memory));  x = x + drop(ff(norm3(x)))
/// post-norm: the same with the norms applied after each residual sum.
/// Parameters: self_attn.*, cross_attn.*, ff.*, norm1.*, norm2.*, norm3.*.
/// Target padding needs no mask: it sits after every valid position, which the
/// causal mask already hides from valid queries.
class TransformerDecoderLayer : public Module {
 public:
  TransformerDecoderLayer(std::int64_t d_model, Rng& rng, TransformerLayerOptions options);
  /// x (B, Tq, d_model), memory (B, Ts, d_model), memory_padding (B, Ts) additive.
  /// Returns the new x and the cross-attention weights (B, Tq, Ts) or (B, heads, Tq, Ts).
  /// With a cache, x holds only the new step(s).
  AttentionResult forward(const Variable& x, const Variable& memory, const Tensor& memory_padding,
                          DecoderLayerCache* cache = nullptr,
                          MultiHeadAttention::Weights weights = MultiHeadAttention::Weights::averaged);

 private:
  TransformerLayerOptions options_;
  std::shared_ptr<MultiHeadAttention> self_attn_, cross_attn_;
  std::shared_ptr<FeedForward> ff_;
  std::shared_ptr<LayerNorm> norm1_, norm2_, norm3_;
  std::shared_ptr<Dropout> dropout_;
};

}  // namespace xseq
