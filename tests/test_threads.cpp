// Parallel kernels only run above kParallelGrain elements, so these tests use
// large inputs and compare one thread with two.
#include <omp.h>

#include "tests/helpers.hpp"

using namespace xseq;
using namespace xseq::test;

namespace {

struct Results {
  std::vector<Tensor> values;
};

// A forward/backward pass over every parallel kernel, returning outputs and gradients.
Results run_everything(int threads) {
  set_num_threads(threads);
  Rng rng(71);
  const int D = 64;  // wide enough for the column-parallel reductions
  Variable x = param(uniform({64, 48, D}, rng));  // 196608 elements: above the grain
  Variable b = param(uniform({D}, rng));
  Variable gamma = param(uniform({D}, rng, 0.5f, 1.5f)), beta = param(uniform({D}, rng));
  Variable w = param(uniform({D, D}, rng));
  Variable emb = param(uniform({50, D}, rng));
  std::vector<std::int32_t> ids(64 * 48);
  for (auto& id : ids) id = std::int32_t(rng.below(50));
  IndexTensor idx({64, 48}, ids);
  Tensor mask = Tensor::zeros({64, 1, 48});
  for (int i = 0; i < 64; ++i)
    for (int t = 48 - i % 20; t < 48; ++t) mask.data()[i * 48 + t] = -INFINITY;

  Rng drop(3);
  Variable h = layer_norm(gelu(x + b) + embedding(emb, idx), gamma, beta);
  h = dropout(h, 0.1f, true, drop);
  Variable scores = matmul(matmul(h, w), h, false, true);  // (64, 48, 48)
  Variable attn = softmax(scores, mask);
  Variable out = matmul(attn, h);
  Variable logits = log_softmax(out);
  std::vector<std::int32_t> tgt(64 * 48);
  for (auto& t : tgt) t = std::int32_t(rng.below(D));
  Variable row_sums = sum(h, {-1});  // reduction with one target per row
  Variable loss = cross_entropy(out, IndexTensor({64, 48}, tgt), -100, 0.1f) + mean(logits) +
                  sum(tanh(out)) * 1e-3f + mean(row_sums * row_sums);
  loss.backward();
  return {{loss.value(), attn.value(), x.grad(), b.grad(), gamma.grad(), beta.grad(), w.grad(), emb.grad()}};
}

}  // namespace

TEST_CASE("set_num_threads sets OpenMP and OpenBLAS together", "[threads]") {
  set_num_threads(1);
  REQUIRE(num_threads() == 1);
  set_num_threads(2);
  REQUIRE(num_threads() == 2);
  set_num_threads(0);
  REQUIRE(num_threads() >= 1);
}

TEST_CASE("Parallel kernels give the same results as one thread", "[threads]") {
  const Results one = run_everything(1);
  const Results two = run_everything(2);
  const Results two_again = run_everything(2);
  set_num_threads(0);
  for (std::size_t i = 0; i < one.values.size(); ++i) {
    INFO("tensor " << i);
    // Same thread count: bit-identical (no order-dependent reductions).
    REQUIRE(max_abs_diff(two.values[i], two_again.values[i]) == 0.0f);
    // Different thread counts differ at most by float rounding of summation order.
    float scale = 0;
    for (std::int64_t k = 0; k < one.values[i].numel(); ++k) scale = std::max(scale, std::fabs(one.values[i].data()[k]));
    REQUIRE(max_abs_diff(one.values[i], two.values[i]) <= 1e-5f * std::max(1.0f, scale));
  }
}

// The big-tensor code paths (column-split and row-parallel reductions, the
// parallel scatter-add) are chosen by size, not by thread count, so compare
// them with plain loops as well.
TEST_CASE("Large reductions and scatter-adds match naive loops", "[threads][ops][reduce]") {
  set_num_threads(2);
  Rng rng(72);
  const std::int64_t B = 64, T = 48, D = 80;
  Tensor xv = uniform({B, T, D}, rng);
  Variable x = param(xv), bias = param(uniform({D}, rng));
  Tensor seed = uniform({B, T, D}, rng);
  (x + bias).backward(seed);  // bias grad: column-split reduction over B*T rows
  std::vector<double> expected_bias(D, 0.0);
  for (std::int64_t r = 0; r < B * T; ++r)
    for (std::int64_t j = 0; j < D; ++j) expected_bias[j] += seed.data()[r * D + j];
  for (std::int64_t j = 0; j < D; ++j) REQUIRE(bias.grad().data()[j] == Approx(expected_bias[j]).margin(1e-3));

  Tensor rows = sum(Variable(xv), {-1}).value();  // row-parallel reduction
  Tensor cols = sum(Variable(xv), {0, 1}).value();
  for (std::int64_t r = 0; r < B * T; r += 97) {
    double s = 0;
    for (std::int64_t j = 0; j < D; ++j) s += xv.data()[r * D + j];
    REQUIRE(rows.data()[r] == Approx(s).margin(1e-4));
  }
  for (std::int64_t j = 0; j < D; ++j) {
    double s = 0;
    for (std::int64_t r = 0; r < B * T; ++r) s += xv.data()[r * D + j];
    REQUIRE(cols.data()[j] == Approx(s).margin(1e-3));
  }

  Variable table = param(uniform({30, D}, rng));
  std::vector<std::int32_t> ids(B * T);
  for (auto& id : ids) id = std::int32_t(rng.below(30));
  embedding(table, IndexTensor({B, T}, ids), /*padding_idx=*/0).backward(seed);
  std::vector<double> expected(30 * D, 0.0);
  for (std::int64_t i = 0; i < B * T; ++i)
    if (ids[i] != 0)
      for (std::int64_t j = 0; j < D; ++j) expected[ids[i] * D + j] += seed.data()[i * D + j];
  for (std::int64_t k = 0; k < 30 * D; ++k) REQUIRE(table.grad().data()[k] == Approx(expected[k]).margin(1e-3));
  set_num_threads(0);
}

// linear's backward splits dx and dW into blocks for the requested thread count;
// called from inside another parallel region (a custom layer's own loop) it gets
// a team of one, and every block must still be computed.
TEST_CASE("linear's backward is complete inside another parallel region", "[threads][ops]") {
  set_num_threads(2);
  Rng rng(5);
  const Tensor xv = uniform({64, 96}, rng), wv = uniform({80, 96}, rng), bv = uniform({80}, rng);
  auto gradients = [&](bool nested) {
    Variable x = param(xv.clone()), w = param(wv.clone()), b = param(bv.clone());
    auto run = [&] { sum(tanh(linear(x, w, b))).backward(); };
    if (nested) {
      const int levels = omp_get_max_active_levels();
      omp_set_max_active_levels(1);  // so the inner region surely gets a team of one
#pragma omp parallel num_threads(2)
#pragma omp single
      run();
      omp_set_max_active_levels(levels);
    } else {
      run();
    }
    return std::vector<Tensor>{x.grad().clone(), w.grad().clone(), b.grad().clone()};
  };
  // Fresh gradient buffers come from the caching allocator: leave junk there first,
  // so that a block nobody computes cannot pass for a right answer by accident.
  for (const Shape& shape : {xv.shape(), wv.shape(), bv.shape()}) Tensor::full(shape, 12345.0f);
  const auto nested = gradients(true), plain = gradients(false);
  set_num_threads(0);
  for (std::size_t i = 0; i < plain.size(); ++i) {
    INFO("gradient " << i);
    REQUIRE(max_abs_diff(plain[i], nested[i]) <= 1e-4f);
  }
}
