// Gradient checks on randomly drawn shapes (seeded, so failures reproduce):
// broadcasting pairs with size-1 axes, reductions over random axes, random
// permutations, and softmax with random masks that fully mask some rows.
#include "tests/helpers.hpp"

#include <algorithm>
#include <limits>

using namespace xseq;
using namespace xseq::test;

namespace {

Shape random_shape(Rng& rng, int min_ndim, int max_ndim, int max_dim = 3) {
  const int ndim = min_ndim + int(rng.below(std::uint64_t(max_ndim - min_ndim + 1)));
  Shape s;
  for (int d = 0; d < ndim; ++d) s.push_back(1 + std::int64_t(rng.below(std::uint64_t(max_dim))));
  return s;
}

// A shape that broadcasts with `s`: a random suffix of it, with random axes set to 1.
Shape broadcast_partner(Rng& rng, const Shape& s) {
  const int keep = int(rng.below(std::uint64_t(s.ndim() + 1)));
  Shape p;
  for (int d = s.ndim() - keep; d < s.ndim(); ++d) p.push_back(rng.uniform() < 0.4f ? 1 : s[d]);
  return p;
}

}  // namespace

TEST_CASE("Random broadcasting shapes: add, sub, mul, div", "[gradcheck][ops][broadcast][random]") {
  Rng rng(101);
  for (int trial = 0; trial < 25; ++trial) {
    Shape sa = random_shape(rng, 0, 4);
    Shape sb = broadcast_partner(rng, sa);
    if (rng.uniform() < 0.5f) std::swap(sa, sb);
    INFO("trial " << trial << ": a " << sa << " b " << sb);
    Variable a = param(uniform(sa, rng));
    Variable b = param(uniform(sb, rng, 0.5f, 1.5f));
    REQUIRE((a + b).shape() == broadcast_shapes(sa, sb, "test"));
    const int which = trial % 4;
    require_gradients_match([&] {
      switch (which) {
        case 0: return a + b;
        case 1: return a - b;
        case 2: return a * b;
        default: return a / b;
      }
    }, {a, b});
  }
}

TEST_CASE("Random shapes: unary ops, reductions and permutations", "[gradcheck][ops][random]") {
  Rng rng(102);
  for (int trial = 0; trial < 20; ++trial) {
    const Shape s = random_shape(rng, 1, 4);
    INFO("trial " << trial << ": shape " << s);
    Variable x = param(away_from_zero(s, rng));
    // A random non-empty subset of axes.
    std::vector<int> axes;
    for (int d = 0; d < s.ndim(); ++d)
      if (rng.uniform() < 0.5f) axes.push_back(rng.uniform() < 0.5f ? d : d - s.ndim());
    if (axes.empty()) axes.push_back(0);
    const bool keepdim = rng.uniform() < 0.5f;
    std::vector<int> perm(s.ndim());
    for (int d = 0; d < s.ndim(); ++d) perm[d] = d;
    for (int d = s.ndim() - 1; d > 0; --d) std::swap(perm[d], perm[rng.below(std::uint64_t(d + 1))]);
    require_gradients_match([&] { return sum(gelu(x), axes, keepdim); }, {x});
    require_gradients_match([&] { return mean(sigmoid(x) * tanh(x), axes, keepdim); }, {x});
    require_gradients_match([&] { return permute(relu(x) * 2.0f, perm); }, {x});
  }
}

TEST_CASE("Random shapes: masked softmax, log_softmax, layer_norm, cross_entropy",
          "[gradcheck][ops][softmax][random]") {
  Rng rng(103);
  constexpr float kInf = std::numeric_limits<float>::infinity();
  for (int trial = 0; trial < 15; ++trial) {
    const Shape s = random_shape(rng, 2, 4, 4);
    INFO("trial " << trial << ": shape " << s);
    Variable x = param(uniform(s, rng, -2, 2));
    // Mask over (first axis, last axis); some rows fully masked (lengths of 0).
    Shape mshape;
    for (int d = 0; d < s.ndim(); ++d) mshape.push_back(d == 0 || d == s.ndim() - 1 ? s[d] : 1);
    Tensor mask = Tensor::zeros(mshape);
    Tensor masked = Tensor::zeros(mshape);
    const std::int64_t T = s.dim(-1);
    for (std::int64_t b = 0; b < s[0]; ++b) {
      const std::int64_t len = std::int64_t(rng.below(std::uint64_t(T + 1)));
      for (std::int64_t t = len; t < T; ++t) {
        mask.data()[b * T + t] = -kInf;
        masked.data()[b * T + t] = 1.0f;
      }
    }
    require_gradients_match([&] { return softmax(x, mask); }, {x});
    require_gradients_match([&] { return masked_fill(log_softmax(x, mask), masked, 0.0f); }, {x});
    Variable gamma = param(uniform({T}, rng, 0.5f, 1.5f)), beta = param(uniform({T}, rng));
    require_gradients_match([&] { return layer_norm(x, gamma, beta); }, {x, gamma, beta});
    std::vector<std::int32_t> targets(std::size_t(x.numel() / T));
    for (auto& t : targets) t = rng.uniform() < 0.25f ? -1 : std::int32_t(rng.below(std::uint64_t(T)));
    Shape tshape;
    for (int d = 0; d < s.ndim() - 1; ++d) tshape.push_back(s[d]);
    const IndexTensor tgt(tshape, targets);
    const float smoothing = rng.uniform(0.0f, 0.3f);
    require_gradients_match([&] { return cross_entropy(x, tgt, -1, smoothing); }, {x});
  }
}
