// Transformer encoder/decoder layers: gradients (pre- and post-norm),
// padding invariance and cached decoding.
#include "helpers.hpp"

using namespace xseq;
using test::param;
using test::require_gradients_match;
using test::uniform;
using test::with_params;

namespace {
TransformerLayerOptions small(bool pre) {
  TransformerLayerOptions o;
  o.heads = 2;
  o.ff_dim = 12;
  o.dropout = 0.0f;
  o.norm_first = pre;
  o.activation = Activation::gelu;
  return o;
}
}  // namespace

TEST_CASE("Transformer layers: gradients, pre-norm and post-norm", "[transformer][gradcheck]") {
  for (const bool pre : {true, false}) {
    DYNAMIC_SECTION((pre ? "pre-norm" : "post-norm")) {
      Rng rng(51);
      TransformerEncoderLayer enc(8, rng, small(pre));
      TransformerDecoderLayer dec(8, rng, small(pre));
      const Variable x = param(uniform({2, 3, 8}, rng)), memory = param(uniform({2, 4, 8}, rng));
      const Lengths lengths{3, 2};
      require_gradients_match([&] { return enc.forward(x, lengths); }, with_params({x}, enc));
      const Tensor mem_pad = key_padding_mask({4, 1}, 4);
      require_gradients_match([&] { return dec.forward(x, memory, mem_pad).output; }, with_params({x, memory}, dec));
    }
  }
}

TEST_CASE("TransformerEncoderLayer: padding invariance", "[transformer][attention]") {
  Rng rng(52);
  TransformerEncoderLayer enc(8, rng, small(true));
  enc.eval();  // weights are kept in eval mode only, and only when asked
  const Tensor x = uniform({2, 4, 8}, rng);
  const Lengths lengths{4, 2};
  const Tensor y = enc.forward(Variable(x), lengths).value();
  CHECK_FALSE(enc.last_weights().defined());
  enc.keep_weights(true);
  Tensor padded = uniform({2, 7, 8}, rng, -3.0f, 3.0f);
  for (std::int64_t b = 0; b < 2; ++b) std::copy_n(x.data() + b * 32, lengths[b] * 8, padded.data() + b * 56);
  const Tensor yp = enc.forward(Variable(padded), lengths).value();
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t t = 0; t < lengths[b]; ++t)
      for (std::int64_t d = 0; d < 8; ++d) CHECK(y.at({b, t, d}) == Approx(yp.at({b, t, d})).margin(1e-6));
  CHECK(enc.last_weights().value().at({1, 0, 5}) == 0.0f);
}

TEST_CASE("TransformerDecoderLayer: cached step-by-step decoding equals the full pass", "[transformer][mha]") {
  for (const bool pre : {true, false}) {
    DYNAMIC_SECTION((pre ? "pre-norm" : "post-norm")) {
      Rng rng(53);
      TransformerDecoderLayer dec(8, rng, small(pre));
      const Variable x(uniform({2, 5, 8}, rng)), memory(uniform({2, 4, 8}, rng));
      const Tensor mem_pad = key_padding_mask({4, 3}, 4);
      NoGradGuard no_grad;
      const AttentionResult full = dec.forward(x, memory, mem_pad);
      DecoderLayerCache cache;
      for (std::int64_t t = 0; t < 5; ++t) {
        const AttentionResult step = dec.forward(narrow(x, 1, t, 1), memory, mem_pad, &cache);
        CHECK(max_abs_diff(step.output.value(), narrow(full.output, 1, t, 1).value()) <= 1e-5f);
        CHECK(max_abs_diff(step.weights.value(), narrow(full.weights, 1, t, 1).value()) <= 1e-5f);
      }
      CHECK(cache.self_attn.length() == 5);
      CHECK(full.weights.value().at({1, 2, 3}) == 0.0f);
    }
  }
}
