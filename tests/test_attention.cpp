// The attention family: masks, scaled dot-product attention, the seed's
// AttentionLayer, Luong and Bahdanau scoring, self-attention pooling.
#include <cmath>
#include <limits>

#include "helpers.hpp"

using namespace xseq;
using test::param;
using test::require_gradients_match;
using test::uniform;
using test::with_params;

namespace {

// Copies x (B, T, D) into (B, T + extra, D) and fills every position at or past
// each sequence's length with junk: valid outputs must not change.
Tensor repad(const Tensor& x, const Lengths& lengths, std::int64_t extra, Rng& rng) {
  const std::int64_t B = x.dim(0), T = x.dim(1), D = x.dim(2);
  Tensor y = uniform({B, T + extra, D}, rng, -5.0f, 5.0f);
  for (std::int64_t b = 0; b < B; ++b)
    std::copy_n(x.data() + b * T * D, lengths[b] * D, y.data() + b * (T + extra) * D);
  return y;
}


}  // namespace

TEST_CASE("masks: key padding, causal (with an offset for cached decoding), valid positions", "[attention]") {
  const float inf = std::numeric_limits<float>::infinity();
  test::require_close(key_padding_mask({2, 3}, 3), {0, 0, -inf, 0, 0, 0});
  test::require_close(causal_mask(2, 2), {0, -inf, 0, 0});
  test::require_close(causal_mask(1, 3), {0, 0, 0});
  test::require_close(causal_mask(2, 3), {0, 0, -inf, 0, 0, 0});
  test::require_close(valid_positions({1, 2}, 2), {1, 0, 1, 1});
  CHECK_THROWS_WITH(key_padding_mask({0, 2}, 2), Catch::Contains("lengths[0] = 0 must be in [1, 2]"));
  CHECK_THROWS_WITH(key_padding_mask({3}, 2), Catch::Contains("lengths[0] = 3"));
}

TEST_CASE("scaled dot-product attention: values, masks and gradients", "[attention][gradcheck]") {
  Rng rng(21);
  const Variable q = param(uniform({2, 2, 3, 4}, rng)), k = param(uniform({2, 2, 5, 4}, rng)),
                 v = param(uniform({2, 2, 5, 3}, rng));
  const Tensor mask = key_padding_mask({5, 3}, 5).reshape({2, 1, 1, 5});
  const AttentionResult r = scaled_dot_product_attention(q, k, v, mask);
  CHECK(r.output.shape() == Shape({2, 2, 3, 3}));
  CHECK(r.weights.shape() == Shape({2, 2, 3, 5}));
  // Row (b=1, h=0, i=2) by hand.
  std::vector<double> s(3);
  double z = 0;
  for (int j = 0; j < 3; ++j) {
    for (int d = 0; d < 4; ++d) s[j] += q.value().at({1, 0, 2, d}) * k.value().at({1, 0, j, d});
    s[j] = std::exp(s[j] / 2.0);
    z += s[j];
  }
  for (int j = 0; j < 3; ++j) CHECK(r.weights.value().at({1, 0, 2, j}) == Approx(s[j] / z).epsilon(1e-5));
  CHECK(r.weights.value().at({1, 0, 2, 3}) == 0.0f);
  CHECK(r.weights.value().at({1, 0, 2, 4}) == 0.0f);
  double o = 0, magnitude = 0;
  for (int j = 0; j < 3; ++j) {
    o += s[j] / z * v.value().at({1, 0, j, 1});
    magnitude += std::abs(s[j] / z * v.value().at({1, 0, j, 1}));
  }
  CHECK(r.output.value().at({1, 0, 2, 1}) == Approx(o).epsilon(1e-5).margin(xseq::test::rounding_floor(magnitude, 3 + 4)));

  require_gradients_match([&] { return scaled_dot_product_attention(q, k, v, mask).output; }, {q, k, v});
  SECTION("dropout on the weights, with a re-seeded Rng per call") {
    require_gradients_match(
        [&] {
          Rng drop(5);
          return scaled_dot_product_attention(q, k, v, mask, 0.3f, true, &drop).output;
        },
        {q, k, v});
  }
  CHECK_THROWS_WITH(scaled_dot_product_attention(q, v, v), Catch::Contains("must share the feature size"));
}

TEST_CASE("SeedAttention is the seed's AttentionLayer exactly", "[attention][gradcheck]") {
  Rng rng(22);
  const std::int64_t B = 2, T = 4, H = 3, U = 5;
  SeedAttention attn(H, U, rng);
  const Variable query = param(uniform({B, H}, rng)), values = param(uniform({B, T, H}, rng));
  const Lengths lengths{4, 2};
  const AttentionResult r = attn.forward(query, values, lengths);
  REQUIRE(r.output.shape() == Shape({B, U}));
  REQUIRE(r.weights.shape() == Shape({B, T}));

  // The summary's formula, by hand, in double precision.
  const Tensor W1 = attn.parameter("W1.weight").value(), b1 = attn.parameter("W1.bias").value();
  const Tensor W2 = attn.parameter("W2.weight").value(), b2 = attn.parameter("W2.bias").value();
  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<double> w(T, 0.0), context(H, 0.0);
    double z = 0;
    for (std::int64_t t = 0; t < lengths[b]; ++t) {
      double s = 0;
      for (std::int64_t h = 0; h < H; ++h) s += query.value().at({b, h}) * values.value().at({b, t, h});
      w[t] = std::exp(s / std::sqrt(double(H)));
      z += w[t];
    }
    for (std::int64_t t = 0; t < T; ++t) {
      w[t] /= z;
      CHECK(r.weights.value().at({b, t}) == Approx(w[t]).epsilon(1e-5).margin(1e-7));
      for (std::int64_t h = 0; h < H; ++h) context[h] += w[t] * values.value().at({b, t, h});
    }
    for (std::int64_t u = 0; u < U; ++u) {
      double a1 = b1.data()[u], a2 = b2.data()[u];
      for (std::int64_t h = 0; h < H; ++h) {
        a1 += W1.at({u, h}) * context[h];
        a2 += W2.at({u, h}) * query.value().at({b, h});
      }
      CHECK(r.output.value().at({b, u}) == Approx(std::max(a1, 0.0) + a2).epsilon(1e-5).margin(1e-6));
    }
  }
  CHECK(r.weights.value().at({1, 2}) == 0.0f);
  CHECK(r.weights.value().at({1, 3}) == 0.0f);
  require_gradients_match([&] { return attn.forward(query, values, lengths).output; },
                          with_params({query, values}, attn));
  CHECK_THROWS_WITH(attn.forward(query, values, {4}), Catch::Contains("one length per sequence"));
}

TEST_CASE("Luong dot/general/concat and Bahdanau additive attention", "[attention][gradcheck]") {
  Rng rng(23);
  const std::int64_t B = 3, T = 5, Hq = 4, Hk = 6;
  const Lengths lengths{5, 3, 1};
  for (const char* kind : {"seed", "dot", "general", "concat", "additive"}) {
    DYNAMIC_SECTION(kind) {
      const bool same = std::string(kind) == "dot" || std::string(kind) == "seed";
      const std::int64_t key_dim = same ? Hq : Hk;
      auto attn = make_decoder_attention(kind, Hq, key_dim, rng);
      const Variable values = param(uniform({B, T, key_dim}, rng));
      const Variable q1 = param(uniform({B, Hq}, rng)), q3 = param(uniform({B, 2, Hq}, rng));

      // One step and many steps at once agree.
      const auto memory = attn->prepare(values, lengths);
      const AttentionResult all = attn->attend(q3, memory);
      CHECK(all.output.shape() == Shape({B, 2, attn->output_dim()}));
      const AttentionResult step = attn->attend(reshape(narrow(q3, 1, 1, 1), {B, Hq}), memory);
      CHECK(step.output.shape() == Shape({B, attn->output_dim()}));
      CHECK(max_abs_diff(step.output.value(), narrow(all.output, 1, 1, 1).value().reshape(step.output.shape())) <=
            1e-6f);

      // Weights: a distribution over the valid positions only.
      for (std::int64_t b = 0; b < B; ++b) {
        double total = 0;
        for (std::int64_t t = 0; t < T; ++t) {
          const float w = step.weights.value().at({b, t});
          if (t >= lengths[b]) REQUIRE(w == 0.0f);
          total += w;
        }
        CHECK(total == Approx(1.0).epsilon(1e-6));
      }

      // Padding invariance.
      const Tensor padded = repad(values.value(), lengths, 3, rng);
      const AttentionResult r2 = attn->forward(q1, Variable(padded), lengths);
      const AttentionResult r1 = attn->forward(q1, values, lengths);
      CHECK(max_abs_diff(r1.output.value(), r2.output.value()) <= 1e-6f);
      CHECK(max_abs_diff(r1.weights.value(), narrow(r2.weights, 1, 0, T).value()) <= 1e-6f);

      require_gradients_match([&] { return attn->forward(q1, values, lengths).output; },
                              with_params({q1, values}, *attn));
      require_gradients_match([&] { return attn->attend(q3, attn->prepare(values, lengths)).weights; },
                              with_params({q3, values}, *attn));
    }
  }
  CHECK_THROWS_WITH(make_decoder_attention("dot", 4, 6, rng), Catch::Contains("use 'general'"));
  CHECK_THROWS_WITH(make_decoder_attention("mlp", 4, 6, rng), Catch::Contains("unknown decoder attention 'mlp'"));
}

TEST_CASE("SelfAttentionPooling: one vector per sequence from its valid positions", "[attention][gradcheck]") {
  Rng rng(24);
  const std::int64_t B = 3, T = 4, D = 5;
  const Lengths lengths{4, 2, 1};
  for (const auto pooling : {SelfAttentionPooling::Pooling::mean, SelfAttentionPooling::Pooling::max}) {
    const bool is_mean = pooling == SelfAttentionPooling::Pooling::mean;
    DYNAMIC_SECTION((is_mean ? "mean" : "max")) {
      SelfAttentionPooling pool(D, pooling, rng);
      const Variable x = param(uniform({B, T, D}, rng));
      const AttentionResult r = pool.forward(x, lengths);
      CHECK(r.output.shape() == Shape({B, D}));
      CHECK(r.weights.shape() == Shape({B, T, T}));
      CHECK(r.weights.value().at({1, 0, 2}) == 0.0f);
      // A length-1 sequence attends to itself only, so its output is v(x_0).
      const Tensor v0 = pool.parameter("v.weight").value();
      double expected = 0, magnitude = 0;
      for (std::int64_t d = 0; d < D; ++d) {
        expected += v0.at({2, d}) * x.value().at({2, 0, d});
        magnitude += std::abs(v0.at({2, d}) * x.value().at({2, 0, d}));
      }
      CHECK(r.output.value().at({2, 2}) == Approx(expected).epsilon(1e-5).margin(xseq::test::rounding_floor(magnitude, D)));

      const AttentionResult padded = pool.forward(Variable(repad(x.value(), lengths, 2, rng)), lengths);
      CHECK(max_abs_diff(padded.output.value(), r.output.value()) <= 1e-6f);
      require_gradients_match([&] { return pool.forward(x, lengths).output; }, with_params({x}, pool));
    }
  }
}
