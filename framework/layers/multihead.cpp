#include "framework/layers/multihead.hpp"

namespace xseq {

MultiHeadAttention::MultiHeadAttention(std::int64_t d_model, std::int64_t heads, Rng& rng, Options options)
    : d_model_(d_model), heads_(heads) {
  XSEQ_CHECK(heads > 0 && d_model > 0, "MultiHeadAttention: d_model and heads must be positive");
  XSEQ_CHECK(options.d_k > 0 || d_model % heads == 0, "MultiHeadAttention: d_model ", d_model,
             " is not divisible by heads ", heads, " (set d_k explicitly)");
  d_k_ = options.d_k > 0 ? options.d_k : d_model / heads;
  d_v_ = options.d_v > 0 ? options.d_v : d_k_;
  const Dense::Options dense{options.bias, Activation::none};
  q_ = register_module("q", std::make_shared<Dense>(d_model, heads * d_k_, rng, dense));
  k_ = register_module("k", std::make_shared<Dense>(d_model, heads * d_k_, rng, dense));
  v_ = register_module("v", std::make_shared<Dense>(d_model, heads * d_v_, rng, dense));
  o_ = register_module("o", std::make_shared<Dense>(heads * d_v_, d_model, rng, dense));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(options.dropout, rng));
}

AttentionResult MultiHeadAttention::forward(const Variable& query, const Variable& key, const Variable& value,
                                            const Tensor& key_padding, bool causal, Weights weights,
                                            KVCache* cache) {
  XSEQ_CHECK(query.ndim() == 3 && query.dim(2) == d_model_ && key.ndim() == 3 && key.dim(2) == d_model_ &&
                 value.ndim() == 3 && value.shape() == key.shape() && key.dim(0) == query.dim(0),
             "MultiHeadAttention: query ", query.shape(), ", key ", key.shape(), " and value ", value.shape(),
             " must be (batch, time, ", d_model_, ") with equal batch, and key and value of one shape");
  // Heads stay packed as the projections produce them, (B, T, heads * d):
  // packed_attention reads each head's columns in place.
  const Variable q = q_->forward(query);
  Variable k, v;
  if (cache != nullptr && cache->fixed) {
    k = Variable(cache->keys);
    v = Variable(cache->values);
  } else {
    k = k_->forward(key);
    v = v_->forward(value);
    if (cache != nullptr && cache->length() > 0) {
      k = concat({Variable(cache->keys), k}, 1);
      v = concat({Variable(cache->values), v}, 1);
    }
  }
  if (cache != nullptr) {
    cache->keys = k.value();
    cache->values = v.value();
  }
  const std::int64_t B = query.dim(0), Tk = k.dim(1);
  XSEQ_CHECK(!key_padding.defined() || key_padding.shape() == Shape({B, Tk}), "MultiHeadAttention: key_padding mask ",
             key_padding.shape(), " must be (batch, keys) = ", Shape({B, Tk}));

  Tensor per_head;
  const Variable context = packed_attention(q, k, v, heads_, key_padding, causal, dropout_->p(), training(),
                                            &dropout_->rng(), weights == Weights::none ? nullptr : &per_head);
  AttentionResult r;
  r.output = o_->forward(context);
  if (weights == Weights::none) return r;
  // Weights a loss may differentiate are recomputed as their own op; otherwise
  // packed_attention's copy is used as a constant.
  const bool differentiable = grad_enabled() && (q.requires_grad() || k.requires_grad());
  const Variable w = differentiable ? attention_weights(q, k, heads_, key_padding, causal) : Variable(per_head);
  r.weights = weights == Weights::per_head ? w : mean(w, {1});
  return r;
}

}  // namespace xseq
