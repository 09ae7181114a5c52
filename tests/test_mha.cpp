// MultiHeadAttention: gradients, masks, the single-head identity case and the
// incremental-decoding cache.
#include "helpers.hpp"

using namespace xseq;
using test::param;
using test::require_gradients_match;
using test::uniform;
using test::with_params;

namespace {
Tensor identity(std::int64_t n) {
  Tensor t = Tensor::zeros({n, n});
  for (std::int64_t i = 0; i < n; ++i) t.at({i, i}) = 1.0f;
  return t;
}
}  // namespace

TEST_CASE("MultiHeadAttention: gradients with key padding and causal masks", "[mha][gradcheck]") {
  Rng rng(31);
  MultiHeadAttention mha(8, 2, rng);
  const Variable q = param(uniform({2, 3, 8}, rng)), kv = param(uniform({2, 4, 8}, rng));
  const Tensor pad = key_padding_mask({4, 2}, 4);
  require_gradients_match([&] { return mha.forward(q, kv, kv, pad).output; }, with_params({q, kv}, mha));
  require_gradients_match([&] { return mha.forward(kv, kv, kv, pad, true).output; }, with_params({kv}, mha));

  SECTION("d_k and d_v differ from d_model / heads; no bias") {
    MultiHeadAttention odd(8, 3, rng, MultiHeadAttention::Options{5, 2, 0.0f, false});
    CHECK(odd.parameter("q.weight").shape() == Shape({15, 8}));
    CHECK(odd.parameter("v.weight").shape() == Shape({6, 8}));
    CHECK(odd.parameter("o.weight").shape() == Shape({8, 6}));
    CHECK(odd.named_parameters().size() == 4);
    const AttentionResult r = odd.forward(q, kv, kv, pad, false, MultiHeadAttention::Weights::per_head);
    CHECK(r.output.shape() == Shape({2, 3, 8}));
    CHECK(r.weights.shape() == Shape({2, 3, 3, 4}));
    require_gradients_match([&] { return odd.forward(q, kv, kv, pad).output; }, with_params({q, kv}, odd));
  }
  CHECK_THROWS_WITH(MultiHeadAttention(10, 3, rng), Catch::Contains("not divisible by heads 3"));
  CHECK_THROWS_WITH(mha.forward(q, kv, kv, key_padding_mask({4, 2, 1}, 4)),
                    Catch::Contains("key_padding mask (3, 4) must be (batch, keys) = (2, 4)"));
  CHECK_THROWS_WITH(mha.forward(q, Variable(Tensor::ones({2, 4, 6})), kv), Catch::Contains("must be (batch, time, 8)"));
}

TEST_CASE("MultiHeadAttention with one head and identity projections is scaled dot-product attention",
          "[mha][attention]") {
  Rng rng(32);
  MultiHeadAttention mha(6, 1, rng);
  for (const char* p : {"q", "k", "v", "o"}) {
    mha.set_parameter(std::string(p) + ".weight", identity(6));
    mha.set_parameter(std::string(p) + ".bias", Tensor::zeros({6}));
  }
  const Variable q(uniform({2, 3, 6}, rng)), k(uniform({2, 5, 6}, rng)), v(uniform({2, 5, 6}, rng));
  const Tensor pad = key_padding_mask({5, 2}, 5);
  const AttentionResult a = mha.forward(q, k, v, pad);
  const AttentionResult b = scaled_dot_product_attention(q, k, v, pad.reshape({2, 1, 5}));
  CHECK(max_abs_diff(a.output.value(), b.output.value()) <= 1e-6f);
  CHECK(max_abs_diff(a.weights.value(), b.weights.value()) <= 1e-6f);
}

TEST_CASE("MultiHeadAttention: causality, padding invariance, padded keys get zero weight", "[mha][attention]") {
  Rng rng(33);
  MultiHeadAttention mha(8, 4, rng);
  const Tensor x = uniform({2, 6, 8}, rng);
  const AttentionResult full = mha.forward(Variable(x), Variable(x), Variable(x), Tensor(), true,
                                           MultiHeadAttention::Weights::per_head);
  // Changing steps 4 and 5 leaves steps 0..3 unchanged.
  Tensor changed = x.clone();
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t t = 4; t < 6; ++t)
      for (std::int64_t d = 0; d < 8; ++d) changed.at({b, t, d}) += 3.0f;
  const AttentionResult after = mha.forward(Variable(changed), Variable(changed), Variable(changed), Tensor(), true);
  CHECK(max_abs_diff(narrow(full.output, 1, 0, 4).value(), narrow(after.output, 1, 0, 4).value()) == 0.0f);
  CHECK(max_abs_diff(narrow(full.output, 1, 4, 2).value(), narrow(after.output, 1, 4, 2).value()) > 0.1f);
  for (std::int64_t h = 0; h < 4; ++h) CHECK(full.weights.value().at({1, h, 2, 3}) == 0.0f);

  // Keys past each length: zero weight; junk there and extra padding change nothing.
  const Lengths lengths{6, 3};
  const Variable q(uniform({2, 2, 8}, rng));
  const AttentionResult base = mha.forward(q, Variable(x), Variable(x), key_padding_mask(lengths, 6));
  Tensor junk = uniform({2, 9, 8}, rng, -4.0f, 4.0f);
  for (std::int64_t b = 0; b < 2; ++b) std::copy_n(x.data() + b * 48, lengths[b] * 8, junk.data() + b * 72);
  const AttentionResult padded = mha.forward(q, Variable(junk), Variable(junk), key_padding_mask(lengths, 9));
  CHECK(max_abs_diff(base.output.value(), padded.output.value()) <= 1e-6f);
  CHECK(max_abs_diff(base.weights.value(), narrow(padded.weights, 2, 0, 6).value()) <= 1e-6f);
  for (std::int64_t t = 3; t < 9; ++t) CHECK(padded.weights.value().at({1, 0, t}) == 0.0f);
}

TEST_CASE("MultiHeadAttention: incremental decoding with the cache equals the full causal pass", "[mha]") {
  Rng rng(34);
  MultiHeadAttention self_attn(8, 2, rng), cross_attn(8, 2, rng);
  const Tensor x = uniform({3, 7, 8}, rng);
  const Variable memory(uniform({3, 5, 8}, rng));
  const Tensor mem_pad = key_padding_mask({5, 2, 4}, 5);
  NoGradGuard no_grad;
  const Variable full = self_attn.forward(Variable(x), Variable(x), Variable(x), Tensor(), true).output;
  const Variable full_cross = cross_attn.forward(full, memory, memory, mem_pad).output;

  KVCache self_cache, cross_cache;
  for (std::int64_t t = 0; t < 7; ++t) {
    const Variable step = narrow(Variable(x), 1, t, 1);
    const Variable out = self_attn.forward(step, step, step, Tensor(), true,
                                           MultiHeadAttention::Weights::averaged, &self_cache).output;
    REQUIRE(self_cache.length() == t + 1);
    CHECK(max_abs_diff(out.value(), narrow(full, 1, t, 1).value()) <= 1e-5f);
    const Variable c = cross_attn.forward(out, memory, memory, mem_pad, false,
                                          MultiHeadAttention::Weights::averaged, &cross_cache).output;
    cross_cache.fixed = true;
    CHECK(cross_cache.length() == 5);
    CHECK(max_abs_diff(c.value(), narrow(full_cross, 1, t, 1).value()) <= 1e-5f);
  }
}

// The fused op against attention written with primitive ops, head by head.
TEST_CASE("packed_attention: equals per-head SDPA, gradients check with masks and dropout", "[mha][attention][gradcheck]") {
  Rng rng(71);
  const std::int64_t B = 2, Tq = 3, Tk = 5, H = 2, dk = 3, dv = 2;
  const Variable q = param(uniform({B, Tq, H * dk}, rng)), k = param(uniform({B, Tk, H * dk}, rng));
  const Variable v = param(uniform({B, Tk, H * dv}, rng));
  const Tensor pad = key_padding_mask(Lengths{5, 3}, Tk);
  for (const bool causal : {false, true}) {
    DYNAMIC_SECTION((causal ? "causal" : "padding only")) {
      Tensor weights;
      const Variable out = packed_attention(q, k, v, H, pad, causal, 0.0f, false, nullptr, &weights);
      REQUIRE(out.shape() == Shape({B, Tq, H * dv}));
      REQUIRE(weights.shape() == Shape({B, H, Tq, Tk}));
      for (std::int64_t h = 0; h < H; ++h) {
        const Variable qh = narrow(q, 2, h * dk, dk), kh = narrow(k, 2, h * dk, dk), vh = narrow(v, 2, h * dv, dv);
        Tensor mask = pad.reshape({B, 1, Tk});
        if (causal) mask = (Variable(mask) + Variable(causal_mask(Tq, Tk))).value();
        const AttentionResult ref = scaled_dot_product_attention(qh, kh, vh, mask, 0.0f, false, nullptr);
        CHECK(max_abs_diff(narrow(out, 2, h * dv, dv).value(), ref.output.value()) <= 1e-6f);
        CHECK(max_abs_diff(reshape(narrow(Variable(weights), 1, h, 1), {B, Tq, Tk}).value(), ref.weights.value()) <= 1e-6f);
      }
      require_gradients_match([&] { return packed_attention(q, k, v, H, pad, causal, 0.0f, false, nullptr); }, {q, k, v});
      require_gradients_match([&] {
        Rng fixed(5);  // the same dropout mask on every evaluation
        return packed_attention(q, k, v, H, pad, causal, 0.3f, true, &fixed);
      }, {q, k, v});
      require_gradients_match([&] { return attention_weights(q, k, H, pad, causal); }, {q, k});
      // k and v as one variable: both gradients land in one buffer.
      require_gradients_match([&] { return packed_attention(q, k, k, H, pad, causal, 0.0f, false, nullptr); }, {q, k});
    }
  }
  CHECK_THROWS_WITH(packed_attention(q, k, v, 4, pad, false, 0.0f, false, nullptr), Catch::Contains("divide by 4 heads"));
  CHECK_THROWS_WITH(packed_attention(q, k, v, H, key_padding_mask(Lengths{5}, Tk), false, 0.0f, false, nullptr),
                    Catch::Contains("key_padding (1, 5) must be (batch, keys) = (2, 5)"));
}
