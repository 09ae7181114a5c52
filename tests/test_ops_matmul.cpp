#include "tests/helpers.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xview.hpp>

#include "framework/xt.hpp"

using namespace xseq;
using namespace xseq::test;

namespace {
// Reference product through xtensor-blas, an implementation independent of ours.
xt::xarray<float> reference(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  xt::xarray<float> xa = as_xtensor(a), xb = as_xtensor(b);
  if (ta) xa = xt::transpose(xa);
  if (tb) xb = xt::transpose(xb);
  return xt::linalg::dot(xa, xb);
}
}  // namespace

TEST_CASE("matmul matches xtensor-blas for every transpose combination", "[ops][matmul]") {
  Rng rng(21);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      INFO("ta " << ta << " tb " << tb);
      Tensor a = ta ? uniform({7, 5}, rng) : uniform({5, 7}, rng);
      Tensor b = tb ? uniform({3, 7}, rng) : uniform({7, 3}, rng);
      Tensor y = matmul(Variable(a), Variable(b), ta, tb).value();
      REQUIRE(y.shape() == Shape{5, 3});
      Tensor expected = from_xtensor(reference(a, b, ta, tb));
      REQUIRE(max_abs_diff(y, expected) < 1e-5f);
    }
}

TEST_CASE("Batched matmul equals one product per batch entry", "[ops][matmul]") {
  Rng rng(22);
  Tensor a = uniform({2, 3, 4, 5}, rng);  // (B, H, T, d)
  Tensor b = uniform({2, 3, 6, 5}, rng);  // (B, H, S, d)
  Tensor y = matmul(Variable(a), Variable(b), false, true).value();  // Q K^T
  REQUIRE(y.shape() == Shape{2, 3, 4, 6});
  for (int i = 0; i < 2; ++i)
    for (int h = 0; h < 3; ++h) {
      Tensor ai = a.reshape({6, 4, 5}), bi = b.reshape({6, 6, 5});
      xt::xarray<float> xa = xt::view(as_xtensor(ai), i * 3 + h), xb = xt::view(as_xtensor(bi), i * 3 + h);
      xt::xarray<float> expected = xt::linalg::dot(xa, xt::transpose(xb));
      Tensor yi = y.reshape({6, 4, 6});
      xt::xarray<float> got = xt::view(as_xtensor(yi), i * 3 + h);
      REQUIRE(xt::amax(xt::abs(got - expected))() < 1e-5f);
    }
}

TEST_CASE("matmul folds leading axes for (..., M, K) @ (K, N)", "[ops][matmul]") {
  Rng rng(23);
  Tensor a = uniform({2, 3, 4}, rng), w = uniform({4, 5}, rng);
  Tensor y = matmul(Variable(a), Variable(w)).value();
  REQUIRE(y.shape() == Shape{2, 3, 5});
  Tensor expected = from_xtensor(reference(a.reshape({6, 4}), w, false, false));
  REQUIRE(max_abs_diff(y.reshape({6, 5}), expected) < 1e-5f);
}

TEST_CASE("Gradients of matmul", "[gradcheck][ops][matmul]") {
  Rng rng(24);
  SECTION("2-d, all transpose combinations") {
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        INFO("ta " << ta << " tb " << tb);
        Variable a = param(ta ? uniform({4, 3}, rng) : uniform({3, 4}, rng));
        Variable b = param(tb ? uniform({5, 4}, rng) : uniform({4, 5}, rng));
        require_gradients_match([&] { return matmul(a, b, ta, tb); }, {a, b});
      }
  }
  SECTION("3-d batched with transposes") {
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        INFO("ta " << ta << " tb " << tb);
        Variable a = param(ta ? uniform({2, 4, 3}, rng) : uniform({2, 3, 4}, rng));
        Variable b = param(tb ? uniform({2, 5, 4}, rng) : uniform({2, 4, 5}, rng));
        require_gradients_match([&] { return matmul(a, b, ta, tb); }, {a, b});
      }
  }
  SECTION("4-d attention shapes: Q K^T and weights V") {
    Variable q = param(uniform({2, 2, 3, 4}, rng)), k = param(uniform({2, 2, 5, 4}, rng));
    Variable v = param(uniform({2, 2, 5, 3}, rng));
    require_gradients_match([&] { return matmul(matmul(q, k, false, true), v); }, {q, k, v});
  }
  SECTION("shared 2-d operand: folded, transposed and on the left") {
    Variable x = param(uniform({2, 3, 4}, rng)), w = param(uniform({4, 5}, rng));
    require_gradients_match([&] { return matmul(x, w); }, {x, w});
    Variable wt = param(uniform({5, 4}, rng));
    require_gradients_match([&] { return matmul(x, wt, false, true); }, {x, wt});
    Variable xt_ = param(uniform({2, 4, 3}, rng));
    require_gradients_match([&] { return matmul(xt_, w, true, false); }, {xt_, w});
    Variable left = param(uniform({5, 3}, rng));
    require_gradients_match([&] { return matmul(left, x); }, {left, x});
  }
}

TEST_CASE("matmul shape errors name both shapes", "[ops][matmul]") {
  Variable a(Tensor::zeros({2, 3})), b(Tensor::zeros({4, 5}));
  REQUIRE_THROWS_WITH(matmul(a, b), Catch::Contains("matmul: inner dimensions differ: a (2, 3) has 3, b (4, 5) has 4"));
  Variable c(Tensor::zeros({2, 3, 4})), d(Tensor::zeros({3, 4, 5}));
  REQUIRE_THROWS_WITH(matmul(c, d), Catch::Contains("batch axis 0 differs"));
  REQUIRE_THROWS_WITH(matmul(Variable(Tensor::zeros({3})), a), Catch::Contains("at least 2 dimensions"));
}

TEST_CASE("linear: x W^T + b equals matmul plus bias, and its gradients check", "[ops][gradcheck]") {
  Rng rng(61);
  const Variable x = param(uniform({2, 3, 5}, rng)), w = param(uniform({4, 5}, rng)), b = param(uniform({4}, rng));
  const Tensor expected = (matmul(x, w, false, true) + b).value();
  const Tensor y = linear(x, w, b).value();
  REQUIRE(y.shape() == Shape({2, 3, 4}));
  CHECK(max_abs_diff(y, expected) <= 1e-6f);
  CHECK(max_abs_diff(linear(x, w).value(), matmul(x, w, false, true).value()) <= 1e-6f);
  require_gradients_match([&] { return linear(x, w, b); }, {x, w, b});
  require_gradients_match([&] { return linear(x, w); }, {x, w});
  CHECK(max_abs_diff(linear(x, w, b, true).value(), relu(linear(x, w, b)).value()) == 0.0f);
  require_gradients_match([&] { return linear(x, w, b, true); }, {x, w, b});
  // A gradient that already holds a value is added to, not overwritten.
  require_gradients_match([&] { return linear(x, w, b) * linear(x, w, b); }, {x, w, b});
  CHECK_THROWS_WITH(linear(x, param(uniform({4, 6}, rng))), Catch::Contains("must end in 6 features"));
  CHECK_THROWS_WITH(linear(x, w, param(uniform({3}, rng))), Catch::Contains("bias (3,) must be (4,)"));
}

// gemm splits C's rows over the threads (serial BLAS per block), and linear's
// backward runs dx and dW side by side: check both against the reference at
// 1, 2 and 3 threads, with row counts that do not divide evenly.
TEST_CASE("Row-split products and linear's side-by-side backward match at any thread count", "[ops][matmul][threads]") {
  Rng rng(23);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Tensor a = ta ? uniform({9, 75}, rng) : uniform({75, 9}, rng);
      Tensor b = tb ? uniform({11, 9}, rng) : uniform({9, 11}, rng);
      const Tensor expected = from_xtensor(reference(a, b, ta, tb));
      for (int threads : {1, 2, 3}) {
        INFO("ta " << ta << " tb " << tb << " threads " << threads);
        set_num_threads(threads);
        REQUIRE(max_abs_diff(matmul(Variable(a), Variable(b), ta, tb).value(), expected) < 1e-5f);
      }
    }
  const Variable x = param(uniform({67, 13}, rng)), w = param(uniform({10, 13}, rng)), bias = param(uniform({10}, rng));
  const Tensor g = uniform({67, 10}, rng);
  std::vector<Tensor> grads;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    for (const Variable& p : {x, w, bias}) p.zero_grad();
    linear(x, w, bias).backward(g);
    grads.push_back(x.grad());
    grads.push_back(w.grad());
  }
  set_num_threads(0);
  // dx = g W and dW = g^T x by the reference product.
  const Tensor dx = from_xtensor(reference(g, w.value(), false, false));
  const Tensor dw = from_xtensor(reference(g, x.value(), true, false));
  for (std::size_t k = 0; k < grads.size(); k += 2) {
    CHECK(max_abs_diff(grads[k], dx) < 1e-5f);
    CHECK(max_abs_diff(grads[k + 1], dw) < 1e-5f);
  }
}
