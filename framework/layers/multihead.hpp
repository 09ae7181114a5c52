// Multi-head attention (Vaswani et al. 2017) with key-padding and causal masks
// and a key/value cache for incremental decoding.
#pragma once

#include <memory>

#include "framework/layers/attention.hpp"

namespace xseq {

/// Keys and values already projected, heads packed: (B, t, heads * d_k) and (B, t, heads * d_v).
/// Self-attention appends one step per call; cross-attention fills it once
/// (`fixed`) and reuses it, so a decoding step costs O(t), never O(t^2).
struct KVCache {
  Tensor keys, values;
  bool fixed = false;  ///< cross-attention: computed from the memory once
  std::int64_t length() const { return keys.defined() ? keys.dim(1) : 0; }
  void clear() { *this = KVCache{}; }
};

/// Parameters: q.weight (heads*d_k, d_model), k.weight (heads*d_k, d_model),
/// v.weight (heads*d_v, d_model), o.weight (d_model, heads*d_v), and their
/// biases unless bias = false.
class MultiHeadAttention : public Module {
 public:
  struct Options {
    std::int64_t d_k = 0;  ///< per-head query/key size; 0 = d_model / heads
    std::int64_t d_v = 0;  ///< per-head value size; 0 = d_k
    float dropout = 0.0f;  ///< on the attention weights (training only)
    bool bias = true;
  };
  /// Which attention weights forward returns: head-averaged, per head, or none
  /// (training never reads them; skipping them skips the averaging).
  enum class Weights { averaged, per_head, none };

  MultiHeadAttention(std::int64_t d_model, std::int64_t heads, Rng& rng, Options options);
  MultiHeadAttention(std::int64_t d_model, std::int64_t heads, Rng& rng)
      : MultiHeadAttention(d_model, heads, rng, Options()) {}

  /// query (B, Tq, d_model), key/value (B, Tk, d_model) -> output (B, Tq, d_model)
  /// and weights (B, Tq, Tk) averaged over heads, or (B, heads, Tq, Tk).
  /// `key_padding` is an additive (B, Tk) mask (key_padding_mask(lengths, Tk))
  /// or undefined; `causal` removes keys after each query's own position.
  /// With a cache, key/value hold only the new steps (self-attention) or the
  /// memory (cross-attention, used on the first call only); queries are then
  /// the positions after those already cached.
  AttentionResult forward(const Variable& query, const Variable& key, const Variable& value,
                          const Tensor& key_padding = Tensor(), bool causal = false,
                          Weights weights = Weights::averaged, KVCache* cache = nullptr);

  std::int64_t heads() const { return heads_; }
  std::int64_t d_model() const { return d_model_; }

 private:

  std::int64_t d_model_, heads_, d_k_, d_v_;
  std::shared_ptr<Dense> q_, k_, v_, o_;
  std::shared_ptr<Dropout> dropout_;
};

}  // namespace xseq
