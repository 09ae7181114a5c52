#include "framework/layers/transformer.hpp"

namespace xseq {
namespace {

std::shared_ptr<MultiHeadAttention> make_mha(std::int64_t d_model, Rng& rng, const TransformerLayerOptions& o) {
  MultiHeadAttention::Options mha;
  mha.dropout = o.dropout;
  return std::make_shared<MultiHeadAttention>(d_model, o.heads, rng, mha);
}

}  // namespace

TransformerEncoderLayer::TransformerEncoderLayer(std::int64_t d_model, Rng& rng, TransformerLayerOptions options)
    : options_(options),
      self_attn_(register_module("self_attn", make_mha(d_model, rng, options))),
      ff_(register_module("ff", std::make_shared<FeedForward>(d_model, options.ff_dim, rng, options.activation,
                                                              options.dropout))),
      norm1_(register_module("norm1", std::make_shared<LayerNorm>(d_model, options.eps))),
      norm2_(register_module("norm2", std::make_shared<LayerNorm>(d_model, options.eps))),
      dropout_(register_module("dropout", std::make_shared<Dropout>(options.dropout, rng))) {}

Variable TransformerEncoderLayer::forward(const Variable& x, const Tensor& key_padding) {
  using W = MultiHeadAttention::Weights;
  auto self_attention = [&](const Variable& in) {
    AttentionResult r = self_attn_->forward(in, in, in, key_padding, false,
                                            keep_weights_ && !training() ? W::averaged : W::none);
    last_weights_ = r.weights;
    return dropout_->forward(r.output);
  };
  if (options_.norm_first) {
    const Variable h = x + self_attention(norm1_->forward(x));
    return h + dropout_->forward(ff_->forward(norm2_->forward(h)));
  }
  const Variable h = norm1_->forward(x + self_attention(x));
  return norm2_->forward(h + dropout_->forward(ff_->forward(h)));
}

TransformerDecoderLayer::TransformerDecoderLayer(std::int64_t d_model, Rng& rng, TransformerLayerOptions options)
    : options_(options),
      self_attn_(register_module("self_attn", make_mha(d_model, rng, options))),
      cross_attn_(register_module("cross_attn", make_mha(d_model, rng, options))),
      ff_(register_module("ff", std::make_shared<FeedForward>(d_model, options.ff_dim, rng, options.activation,
                                                              options.dropout))),
      norm1_(register_module("norm1", std::make_shared<LayerNorm>(d_model, options.eps))),
      norm2_(register_module("norm2", std::make_shared<LayerNorm>(d_model, options.eps))),
      norm3_(register_module("norm3", std::make_shared<LayerNorm>(d_model, options.eps))),
      dropout_(register_module("dropout", std::make_shared<Dropout>(options.dropout, rng))) {}

AttentionResult TransformerDecoderLayer::forward(const Variable& x, const Variable& memory,
                                                 const Tensor& memory_padding, DecoderLayerCache* cache,
                                                 MultiHeadAttention::Weights weights) {
  using W = MultiHeadAttention::Weights;
  KVCache* self_cache = cache ? &cache->self_attn : nullptr;
  KVCache* cross_cache = cache ? &cache->cross_attn : nullptr;
  auto self_attention = [&](const Variable& in) {
    return dropout_->forward(self_attn_->forward(in, in, in, Tensor(), true, W::none, self_cache).output);
  };
  Variable cross_weights;
  auto cross_attention = [&](const Variable& in) {
    AttentionResult r = cross_attn_->forward(in, memory, memory, memory_padding, false, weights, cross_cache);
    if (cross_cache) cross_cache->fixed = true;
    cross_weights = r.weights;
    return dropout_->forward(r.output);
  };
  Variable h;
  if (options_.norm_first) {
    h = x + self_attention(norm1_->forward(x));
    h = h + cross_attention(norm2_->forward(h));
    h = h + dropout_->forward(ff_->forward(norm3_->forward(h)));
  } else {
    h = norm1_->forward(x + self_attention(x));
    h = norm2_->forward(h + cross_attention(h));
    h = norm3_->forward(h + dropout_->forward(ff_->forward(h)));
  }
  return {h, cross_weights};
}

}  // namespace xseq
