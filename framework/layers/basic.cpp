#include "framework/layers/basic.hpp"

#include <cmath>

namespace xseq {

Activation parse_activation(const std::string& name) {
  if (name == "none") return Activation::none;
  if (name == "relu") return Activation::relu;
  if (name == "gelu") return Activation::gelu;
  if (name == "tanh") return Activation::tanh;
  if (name == "sigmoid") return Activation::sigmoid;
  XSEQ_CHECK(false, "unknown activation '", name, "' (expected none, relu, gelu, tanh or sigmoid)");
  return Activation::none;
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::none: return "none";
    case Activation::relu: return "relu";
    case Activation::gelu: return "gelu";
    case Activation::tanh: return "tanh";
    case Activation::sigmoid: return "sigmoid";
  }
  return "?";
}

Variable activate(const Variable& x, Activation a) {
  switch (a) {
    case Activation::none: return x;
    case Activation::relu: return relu(x);
    case Activation::gelu: return gelu(x);
    case Activation::tanh: return tanh(x);
    case Activation::sigmoid: return sigmoid(x);
  }
  return x;
}

// ---- Embedding ------------------------------------------------------------------
Embedding::Embedding(std::int64_t vocab, std::int64_t dim, Rng& rng, Options options) : options_(options) {
  XSEQ_CHECK(vocab > 0 && dim > 0, "Embedding: vocab and dim must be positive, got ", vocab, " x ", dim);
  XSEQ_CHECK(options.padding_idx < vocab, "Embedding: padding_idx ", options.padding_idx,
             " is outside the vocabulary of ", vocab);
  Tensor w({vocab, dim});
  // With sqrt(dim) output scaling the rows start at N(0, 1/dim), so the scaled
  // output has unit variance (as fairseq and Marian do); otherwise N(0, 1) like PyTorch.
  init::normal(w, 0.0f, options.scale ? 1.0f / std::sqrt(float(dim)) : 1.0f, rng);
  if (options.padding_idx >= 0) std::fill_n(w.data() + options.padding_idx * dim, dim, 0.0f);
  weight_ = register_parameter("weight", std::move(w));
}

Variable Embedding::forward(const IndexTensor& ids) const {
  Variable out = embedding(weight_, ids, options_.padding_idx);
  return options_.scale ? out * std::sqrt(float(dim())) : out;
}

// ---- Dense ------------------------------------------------------------------------
Dense::Dense(std::int64_t in, std::int64_t out, Rng& rng, Options options) : options_(options) {
  XSEQ_CHECK(in > 0 && out > 0, "Dense: in and out features must be positive, got ", in, " -> ", out);
  Tensor w({out, in});
  init::xavier_uniform(w, in, out, rng);
  weight_ = register_parameter("weight", std::move(w));
  if (options.bias) bias_ = register_parameter("bias", Tensor::zeros({out}));
}

Variable Dense::forward(const Variable& x) const {
  XSEQ_CHECK(x.ndim() >= 1 && x.dim(-1) == in_features(), "Dense: input ", x.shape(), " must end in ",
             in_features(), " features");
  if (options_.activation == Activation::relu) return linear(x, weight_, bias_, true);
  return activate(linear(x, weight_, bias_), options_.activation);
}

// ---- LayerNorm ----------------------------------------------------------------------
LayerNorm::LayerNorm(std::int64_t dim, float eps) : eps_(eps) {
  weight_ = register_parameter("weight", Tensor::ones({dim}));
  bias_ = register_parameter("bias", Tensor::zeros({dim}));
}

// ---- Dropout ------------------------------------------------------------------------
Dropout::Dropout(float p, Rng& rng) : p_(p), rng_(rng.next_u64()) {
  XSEQ_CHECK(p >= 0.0f && p < 1.0f, "Dropout: p must be in [0, 1), got ", p);
  register_rng("rng", &rng_);
}

// ---- FeedForward ----------------------------------------------------------------------
FeedForward::FeedForward(std::int64_t d_model, std::int64_t ff_dim, Rng& rng, Activation activation,
                         float dropout)
    : linear1_(register_module("linear1", std::make_shared<Dense>(d_model, ff_dim, rng,
                                                                 Dense::Options{true, activation}))),
      linear2_(register_module("linear2", std::make_shared<Dense>(ff_dim, d_model, rng))),
      dropout_(register_module("dropout", std::make_shared<Dropout>(dropout, rng))) {}

Variable FeedForward::forward(const Variable& x) { return linear2_->forward(dropout_->forward(linear1_->forward(x))); }

// ---- positional encodings ------------------------------------------------------------------
Tensor SinusoidalPositions::table(std::int64_t length, std::int64_t dim) {
  Tensor t({length, dim});
  for (std::int64_t p = 0; p < length; ++p) {
    for (std::int64_t i = 0; i < dim; ++i) {
      // Double precision: p / 10000^(2i/dim) reaches ~1e3 radians for long inputs.
      const double angle = double(p) / std::pow(10000.0, double(i - i % 2) / double(dim));
      t.data()[p * dim + i] = float(i % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  }
  return t;
}

Variable SinusoidalPositions::forward(const Variable& x, std::int64_t offset) {
  XSEQ_CHECK(x.ndim() == 3 && x.dim(2) == dim_, "SinusoidalPositions: input ", x.shape(),
             " must be (batch, time, ", dim_, ")");
  const std::int64_t T = x.dim(1);
  if (!table_.defined() || table_.dim(0) < offset + T) table_ = table(std::max<std::int64_t>(2 * (offset + T), 64), dim_);
  Tensor slice({T, dim_});
  std::copy_n(table_.data() + offset * dim_, T * dim_, slice.data());
  return x + Variable(slice);
}

LearnedPositions::LearnedPositions(std::int64_t max_len, std::int64_t dim, Rng& rng) {
  Tensor w({max_len, dim});
  init::normal(w, 0.0f, 0.02f, rng);
  weight_ = register_parameter("weight", std::move(w));
}

Variable LearnedPositions::forward(const Variable& x, std::int64_t offset) const {
  XSEQ_CHECK(x.ndim() == 3 && x.dim(2) == weight_.dim(1), "LearnedPositions: input ", x.shape(),
             " must be (batch, time, ", weight_.dim(1), ")");
  XSEQ_CHECK(offset + x.dim(1) <= weight_.dim(0), "LearnedPositions: positions up to ", offset + x.dim(1),
             " requested but the table holds ", weight_.dim(0), " (raise max_len)");
  return x + narrow(weight_, 0, offset, x.dim(1));
}

}  // namespace xseq
