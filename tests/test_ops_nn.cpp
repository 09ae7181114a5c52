#include "tests/helpers.hpp"

using namespace xseq;
using namespace xseq::test;

TEST_CASE("layer_norm normalises each row", "[ops][layernorm]") {
  Variable x(Tensor::from_vector({2, 4}, {1, 2, 3, 4, -1, -1, 1, 1}));
  Variable gamma(Tensor::from_vector({4}, {1, 1, 2, 2})), beta(Tensor::from_vector({4}, {0, 0, 0, 1}));
  Tensor y = layer_norm(x, gamma, beta, 0.0f).value();
  const float s = 1.0f / std::sqrt(1.25f);  // row 0: mean 2.5, variance 1.25
  require_close(y, {-1.5f * s, -0.5f * s, 2 * 0.5f * s, 2 * 1.5f * s + 1, -1, -1, 2, 3}, 1e-5f);
  REQUIRE_THROWS_WITH(layer_norm(x, Variable(Tensor::ones({3})), beta),
                      Catch::Contains("gamma (3,) and beta (4,) must both be (4,)"));
}

TEST_CASE("Gradients of layer_norm", "[gradcheck][ops][layernorm]") {
  Rng rng(61);
  Variable x = param(uniform({3, 2, 6}, rng, -2, 2));
  Variable gamma = param(uniform({6}, rng, 0.5f, 1.5f));
  Variable beta = param(uniform({6}, rng));
  require_gradients_match([&] { return layer_norm(x, gamma, beta); }, {x, gamma, beta});
}

TEST_CASE("dropout: identity in eval, seeded masks in training", "[ops][dropout]") {
  Rng rng(62);
  Variable x(Tensor::ones({100, 100}));
  Rng a(5), b(5);
  REQUIRE(dropout(x, 0.3f, false, a).value().shares_storage(x.value()));
  Tensor ya = dropout(x, 0.3f, true, a).value();
  Tensor yb = dropout(x, 0.3f, true, b).value();
  REQUIRE(max_abs_diff(ya, yb) == 0.0f);  // same seed, same mask
  Tensor yc = dropout(x, 0.3f, true, a).value();
  REQUIRE(max_abs_diff(ya, yc) > 0.0f);   // the stream moves on
  int zeros = 0;
  for (std::int64_t i = 0; i < ya.numel(); ++i) {
    const float v = ya.data()[i];
    REQUIRE((v == 0.0f || v == Approx(1.0f / 0.7f)));
    zeros += v == 0.0f;
  }
  // 10000 Bernoulli(0.3) draws: mean 3000, sd ~46; 5 sd either side.
  REQUIRE(zeros > 3000 - 230);
  REQUIRE(zeros < 3000 + 230);
  REQUIRE_THROWS_WITH(dropout(x, 1.0f, true, a), Catch::Contains("probability must be in [0, 1)"));
}

TEST_CASE("Gradients of dropout", "[gradcheck][ops][dropout]") {
  Rng rng(63);
  Variable x = param(uniform({4, 6}, rng));
  require_gradients_match([&] {
    Rng fixed(9);  // the same mask on every call
    return dropout(x, 0.4f, true, fixed);
  }, {x});
}

TEST_CASE("embedding gathers rows, the padding row gets no gradient", "[ops][embedding]") {
  Variable w(Tensor::from_vector({4, 2}, {0, 0, 1, 1, 2, 2, 3, 3}), true);
  IndexTensor ids({2, 3}, {1, 0, 3, 3, 3, 2});
  Variable y = embedding(w, ids, /*padding_idx=*/0);
  REQUIRE(y.shape() == Shape{2, 3, 2});
  require_close(y.value(), {1, 1, 0, 0, 3, 3, 3, 3, 3, 3, 2, 2});
  sum(y).backward();
  require_close(w.grad(), {0, 0, 1, 1, 1, 1, 3, 3});
  REQUIRE_THROWS_WITH(embedding(w, IndexTensor({2}, {1, 4})),
                      Catch::Contains("embedding: id 4 at position 1 of ids (2,) is out of range for a vocabulary of 4"));
}

TEST_CASE("Gradients of embedding", "[gradcheck][ops][embedding]") {
  Rng rng(64);
  Variable w = param(uniform({5, 3}, rng));
  IndexTensor ids({2, 4}, {1, 2, 2, 0, 4, 1, 0, 0});
  require_gradients_match([&] { return embedding(w, ids); }, {w});
  // With a padding index the true derivative of the padding row is deliberately
  // dropped, so check the other rows: ids here never use the padding id 3.
  Variable w2 = param(uniform({4, 3}, rng));
  const IndexTensor no_pad({2, 2}, {1, 2, 0, 2});
  require_gradients_match([&] { return embedding(w2, no_pad, /*padding_idx=*/3); }, {w2});
}

TEST_CASE("cross_entropy values: ignore index, label smoothing, all ignored", "[ops][loss]") {
  Tensor logits = Tensor::from_vector({3, 3}, {1, 2, 3, 0, 0, 0, 5, 1, -1});
  auto logp = [&](int r, int c) {
    float mx = -1e30f, z = 0;
    for (int j = 0; j < 3; ++j) mx = std::max(mx, logits.at({r, j}));
    for (int j = 0; j < 3; ++j) z += std::exp(logits.at({r, j}) - mx);
    return logits.at({r, c}) - mx - std::log(z);
  };
  Variable x(logits);
  IndexTensor targets({3}, {2, -100, 0});
  REQUIRE(cross_entropy(x, targets).value().item() == Approx(-(logp(0, 2) + logp(2, 0)) / 2));
  // Label smoothing 0.1 over 3 classes: q = 0.9 onehot + 0.1/3.
  float expected = 0;
  for (int r : {0, 2}) {
    const int t = targets.data[r];
    for (int j = 0; j < 3; ++j) expected -= ((j == t ? 0.9f : 0.0f) + 0.1f / 3) * logp(r, j);
  }
  REQUIRE(cross_entropy(x, targets, -100, 0.1f).value().item() == Approx(expected / 2));
  Variable p(logits, true);
  Variable none = cross_entropy(p, IndexTensor({3}, {-100, -100, -100}));
  REQUIRE(none.value().item() == 0.0f);
  none.backward();
  REQUIRE(max_abs_diff(p.grad(), Tensor::zeros({3, 3})) == 0.0f);
  REQUIRE_THROWS_WITH(cross_entropy(x, IndexTensor({3}, {0, 3, 1})),
                      Catch::Contains("target 3 at position 1 is out of range for 3 classes"));
  REQUIRE_THROWS_WITH(cross_entropy(x, IndexTensor({2}, {0, 1})),
                      Catch::Contains("targets of shape (2,) do not match logits (3, 3)"));
}

TEST_CASE("Gradients of cross_entropy", "[gradcheck][ops][loss]") {
  Rng rng(65);
  Variable logits = param(uniform({2, 4, 6}, rng, -2, 2));
  IndexTensor targets({2, 4}, {1, 5, 0, 0, 3, 0, 2, 0});  // 0 = padding
  require_gradients_match([&] { return cross_entropy(logits, targets); }, {logits});
  require_gradients_match([&] { return cross_entropy(logits, targets, /*ignore_index=*/0); }, {logits});
  require_gradients_match([&] { return cross_entropy(logits, targets, 0, 0.1f); }, {logits});
  require_gradients_match([&] { return cross_entropy(logits, targets, -100, 0.3f) * 3.0f; }, {logits});
}

TEST_CASE("masked_fill and where values", "[ops][where]") {
  Variable x(Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6}));
  Tensor mask = Tensor::from_vector({3}, {0, 1, 0});
  require_close(masked_fill(x, mask, -9).value(), {1, -9, 3, 4, -9, 6});
  Variable y(Tensor::from_vector({2, 1}, {10, 20}));
  Tensor cond = Tensor::from_vector({2, 3}, {1, 0, 1, 0, 0, 1});
  require_close(where(cond, x, y).value(), {1, 10, 3, 20, 20, 6});
  REQUIRE_THROWS_WITH(masked_fill(x, Tensor::zeros({2}), 0), Catch::Contains("mask (2,) does not broadcast"));
  REQUIRE_THROWS_WITH(masked_fill(x, Tensor::zeros({4, 2, 3}), 0), Catch::Contains("does not broadcast to the input's shape (2, 3)"));
}

TEST_CASE("Gradients of masked_fill and where", "[gradcheck][ops][where]") {
  Rng rng(66);
  Variable x = param(uniform({2, 3, 4}, rng));
  Variable b = param(uniform({3, 1}, rng));
  Tensor mask = Tensor::from_vector({1, 3, 4}, {1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0});
  require_gradients_match([&] { return masked_fill(x, mask, 0.5f); }, {x});
  require_gradients_match([&] { return where(mask, x, b); }, {x, b});
}
