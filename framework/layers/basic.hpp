// The basic layers: Embedding, Dense, LayerNorm, Dropout, FeedForward and the
// positional encodings. Shapes and formulas: docs/layers.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "framework/module.hpp"
#include "framework/ops.hpp"

namespace xseq {

enum class Activation { none, relu, gelu, tanh, sigmoid };
/// "none", "relu", "gelu", "tanh", "sigmoid"; anything else is an error listing them.
Activation parse_activation(const std::string& name);
const char* activation_name(Activation a);
Variable activate(const Variable& x, Activation a);

/// Token ids (...) -> vectors (..., dim). Parameter: weight (vocab, dim).
class Embedding : public Module {
 public:
  struct Options {
    int padding_idx = -1;  ///< this row starts at zero and gets no gradient
    bool scale = false;    ///< multiply the output by sqrt(dim) (Vaswani et al.)
  };
  Embedding(std::int64_t vocab, std::int64_t dim, Rng& rng, Options options);
  Embedding(std::int64_t vocab, std::int64_t dim, Rng& rng) : Embedding(vocab, dim, rng, Options()) {}
  Variable forward(const IndexTensor& ids) const;
  const Variable& weight() const { return weight_; }
  std::int64_t vocab() const { return weight_.dim(0); }
  std::int64_t dim() const { return weight_.dim(1); }

 private:
  Options options_;
  Variable weight_;
};

/// y = act(x W^T + b): (..., in) -> (..., out). Parameters: weight (out, in)
/// (PyTorch's layout), bias (out) unless bias = false.
class Dense : public Module {
 public:
  struct Options {
    bool bias = true;
    Activation activation = Activation::none;
  };
  Dense(std::int64_t in, std::int64_t out, Rng& rng, Options options);
  Dense(std::int64_t in, std::int64_t out, Rng& rng) : Dense(in, out, rng, Options()) {}
  Variable forward(const Variable& x) const;
  const Variable& weight() const { return weight_; }
  const Variable& bias() const { return bias_; }  ///< undefined when bias = false
  std::int64_t in_features() const { return weight_.dim(1); }
  std::int64_t out_features() const { return weight_.dim(0); }

 private:
  Options options_;
  Variable weight_, bias_;
};

/// Normalises the last axis. Parameters: weight (dim) = 1, bias (dim) = 0.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(std::int64_t dim, float eps = 1e-5f);
  Variable forward(const Variable& x) const { return layer_norm(x, weight_, bias_, eps_); }

 private:
  float eps_;
  Variable weight_, bias_;
};

/// Inverted dropout, active only in training mode. Owns its Rng (seeded from
/// the constructor's), so masks are reproducible for a seed.
class Dropout : public Module {
 public:
  Dropout(float p, Rng& rng);
  Variable forward(const Variable& x) { return dropout(x, p_, training(), rng_); }
  float p() const { return p_; }
  Rng& rng() { return rng_; }

 private:
  float p_;
  Rng rng_;
};

/// Position-wise feed-forward: linear2(dropout(act(linear1(x)))), (..., d) -> (..., d).
class FeedForward : public Module {
 public:
  FeedForward(std::int64_t d_model, std::int64_t ff_dim, Rng& rng, Activation activation = Activation::relu,
              float dropout = 0.0f);
  Variable forward(const Variable& x);

 private:
  std::shared_ptr<Dense> linear1_, linear2_;
  std::shared_ptr<Dropout> dropout_;
};

/// x + PE[offset : offset + T] for x (B, T, dim), with the fixed sinusoids of
/// Vaswani et al.: PE[p, 2i] = sin(p / 10000^(2i/dim)), PE[p, 2i+1] = cos(...).
/// No parameters. `offset` is the position of x's first step (incremental decoding).
class SinusoidalPositions : public Module {
 public:
  explicit SinusoidalPositions(std::int64_t dim) : dim_(dim) {}
  Variable forward(const Variable& x, std::int64_t offset = 0);
  /// The (length, dim) table itself.
  static Tensor table(std::int64_t length, std::int64_t dim);

 private:
  std::int64_t dim_;
  Tensor table_;  // grown on demand
};

/// x + weight[offset : offset + T] for x (B, T, dim). Parameter: weight (max_len, dim).
class LearnedPositions : public Module {
 public:
  LearnedPositions(std::int64_t max_len, std::int64_t dim, Rng& rng);
  Variable forward(const Variable& x, std::int64_t offset = 0) const;

 private:
  Variable weight_;
};

}  // namespace xseq
