#include "tests/helpers.hpp"

#include <limits>

using namespace xseq;
using namespace xseq::test;

namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();

// Key-padding mask (B, 1, 1, T) from lengths: 0 for valid keys, -inf after.
Tensor key_padding_mask(const std::vector<int>& lengths, int T) {
  Tensor m = Tensor::zeros({std::int64_t(lengths.size()), 1, 1, T});
  for (std::size_t b = 0; b < lengths.size(); ++b)
    for (int t = lengths[b]; t < T; ++t) m.data()[b * T + t] = -kInf;
  return m;
}
}  // namespace

TEST_CASE("softmax values, rows sum to one", "[ops][softmax]") {
  Variable x(Tensor::from_vector({2, 3}, {1, 2, 3, 0, 0, 0}));
  const float e1 = std::exp(1.0f), e2 = std::exp(2.0f), e3 = std::exp(3.0f), z = e1 + e2 + e3;
  require_close(softmax(x).value(), {e1 / z, e2 / z, e3 / z, 1 / 3.f, 1 / 3.f, 1 / 3.f});
  require_close(log_softmax(x).value(), {std::log(e1 / z), std::log(e2 / z), std::log(e3 / z),
                                         -std::log(3.f), -std::log(3.f), -std::log(3.f)});
  Variable big(Tensor::from_vector({2}, {1000, 1001}));  // no overflow
  require_close(softmax(big).value(), {1 / (1 + std::exp(1.0f)), 1 / (1 + std::exp(-1.0f))});
}

TEST_CASE("Masked softmax: padded keys get exactly zero, fully masked rows give zeros", "[ops][softmax]") {
  Rng rng(51);
  Variable x(uniform({3, 2, 2, 4}, rng));
  Tensor mask = key_padding_mask({4, 2, 0}, 4);
  Tensor y = softmax(x, mask).value();
  for (int b = 0; b < 3; ++b)
    for (int r = 0; r < 4; ++r) {
      float total = 0;
      for (int t = 0; t < 4; ++t) {
        const float v = y.data()[(b * 4 + r) * 4 + t];
        if (t >= (b == 0 ? 4 : b == 1 ? 2 : 0)) REQUIRE(v == 0.0f);
        total += v;
      }
      REQUIRE(total == Approx(b == 2 ? 0.0f : 1.0f));
    }
  Tensor ly = log_softmax(x, mask).value();
  REQUIRE(ly.data()[(1 * 4) * 4 + 3] == -kInf);
  REQUIRE(ly.data()[(1 * 4) * 4 + 0] == Approx(std::log(y.data()[(1 * 4) * 4 + 0])));
  REQUIRE_THROWS_WITH(softmax(x, Tensor::zeros({3, 1, 1, 5})),
                      Catch::Contains("mask of shape (3, 1, 1, 5) does not broadcast"));
}

TEST_CASE("Gradients of softmax and log_softmax", "[gradcheck][ops][softmax]") {
  Rng rng(52);
  Variable x = param(uniform({2, 3, 5}, rng, -2, 2));
  require_gradients_match([&] { return softmax(x); }, {x});
  require_gradients_match([&] { return log_softmax(x); }, {x});
  SECTION("with key-padding masks including a fully masked row") {
    Variable s = param(uniform({3, 2, 2, 4}, rng, -2, 2));
    Tensor mask = key_padding_mask({4, 1, 0}, 4);
    require_gradients_match([&] { return softmax(s, mask); }, {s});
    // log_softmax is -inf at masked positions: zero them out as a loss would.
    Tensor masked_positions = Tensor::zeros({3, 1, 1, 4});
    for (std::int64_t i = 0; i < mask.numel(); ++i) masked_positions.data()[i] = mask.data()[i] != 0.0f;
    require_gradients_match([&] { return masked_fill(log_softmax(s, mask), masked_positions, 0.0f); }, {s});
  }
  SECTION("with a finite additive mask (e.g. a learned bias)") {
    Variable s = param(uniform({2, 4}, rng));
    Tensor bias = uniform({4}, rng);
    require_gradients_match([&] { return softmax(s, bias); }, {s});
    require_gradients_match([&] { return log_softmax(s, bias); }, {s});
  }
}

TEST_CASE("A causal mask blocks future positions", "[ops][softmax]") {
  const int T = 4;
  Tensor causal = Tensor::zeros({T, T});
  for (int i = 0; i < T; ++i)
    for (int j = i + 1; j < T; ++j) causal.data()[i * T + j] = -kInf;
  Rng rng(53);
  Variable x(uniform({2, T, T}, rng));
  Tensor y = softmax(x, causal).value();
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < T; ++i)
      for (int j = i + 1; j < T; ++j) REQUIRE(y.data()[(b * T + i) * T + j] == 0.0f);
}
