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

Variable MultiHeadAttention::split_heads(const Variable& x, std::int64_t d) const {
  return permute(reshape(x, {x.dim(0), x.dim(1), heads_, d}), {0, 2, 1, 3});
}

AttentionResult MultiHeadAttention::forward(const Variable& query, const Variable& key, const Variable& value,
                                            const Tensor& key_padding, bool causal, Weights weights,
                                            KVCache* cache) {
  XSEQ_CHECK(query.ndim() == 3 && query.dim(2) == d_model_ && key.ndim() == 3 && key.dim(2) == d_model_ &&
                 value.ndim() == 3 && value.shape() == key.shape() && key.dim(0) == query.dim(0),
             "MultiHeadAttention: query ", query.shape(), ", key ", key.shape(), " and value ", value.shape(),
             " must be (batch, time, ", d_model_, ") with equal batch, and key and value of one shape");
  const std::int64_t B = query.dim(0), Tq = query.dim(1);

  const Variable q = split_heads(q_->forward(query), d_k_);
  Variable k, v;
  if (cache != nullptr && cache->fixed) {
    k = Variable(cache->keys);
    v = Variable(cache->values);
  } else {
    k = split_heads(k_->forward(key), d_k_);
    v = split_heads(v_->forward(value), d_v_);
    if (cache != nullptr && cache->length() > 0) {
      k = concat({Variable(cache->keys), k}, 2);
      v = concat({Variable(cache->values), v}, 2);
    }
  }
  if (cache != nullptr) {
    cache->keys = k.value();
    cache->values = v.value();
  }
  const std::int64_t Tk = k.dim(2);

  // One additive mask (B or 1, 1, Tq or 1, Tk) from the padding and causal parts.
  Tensor mask;
  if (key_padding.defined()) {
    XSEQ_CHECK(key_padding.shape() == Shape({B, Tk}), "MultiHeadAttention: key_padding mask ",
               key_padding.shape(), " must be (batch, keys) = ", Shape({B, Tk}));
  }
  if (causal) {
    const Tensor c = causal_mask(Tq, Tk);
    if (key_padding.defined()) {
      mask = Tensor({B, 1, Tq, Tk});
      for (std::int64_t b = 0; b < B; ++b)
        for (std::int64_t i = 0; i < Tq * Tk; ++i)
          mask.data()[b * Tq * Tk + i] = c.data()[i] + key_padding.data()[b * Tk + i % Tk];
    } else {
      mask = c;
    }
  } else if (key_padding.defined()) {
    mask = key_padding.reshape({B, 1, 1, Tk});
  }

  AttentionResult r = scaled_dot_product_attention(q, k, v, mask, dropout_->p(), training(), &dropout_->rng());
  const Variable merged = reshape(permute(r.output, {0, 2, 1, 3}), {B, Tq, heads_ * d_v_});
  r.output = o_->forward(merged);
  if (weights == Weights::averaged) r.weights = mean(r.weights, {1});
  else if (weights == Weights::none) r.weights = Variable();
  return r;
}

}  // namespace xseq
