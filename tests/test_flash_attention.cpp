// The tiled packed_attention (ops/flash_attention.cpp) against the materialised
// one (ops/attention.cpp, the reference): forward and every gradient on random
// shapes with padding, causal masks, Tq != Tk and dropout; finite differences;
// bitwise equality across thread counts; no T x T memory.
#include "helpers.hpp"

#include <algorithm>

#include "framework/memory.hpp"
#include "framework/ops/flash_attention.hpp"

using namespace xseq;
using test::param;
using test::require_gradients_match;
using test::uniform;

namespace {

// Forces one kernel (and tile sizes) for a scope.
struct KernelScope {
  AttentionKernel saved = attention_kernel();
  detail::AttentionTiles saved_tiles = detail::attention_tiles();
  KernelScope(AttentionKernel kernel, detail::AttentionTiles tiles = {}) {
    set_attention_kernel(kernel);
    detail::set_attention_tiles(tiles);
  }
  ~KernelScope() {
    set_attention_kernel(saved);
    detail::set_attention_tiles(saved_tiles);
  }
};

// Additive key padding like key_padding_mask, but a length may be 0 (no key).
Tensor padding(const Lengths& lengths, std::int64_t Tk) {
  Tensor m = Tensor::zeros({std::int64_t(lengths.size()), Tk});
  for (std::size_t b = 0; b < lengths.size(); ++b)
    for (std::int64_t j = lengths[b]; j < Tk; ++j) m.data()[std::int64_t(b) * Tk + j] = -INFINITY;
  return m;
}

struct Case {
  std::int64_t B, Tq, Tk, heads, dk, dv;
  bool causal, padded;
  float dropout;
};

struct Result {
  Tensor out, dq, dk, dv;
};

// Output and input gradients of sum(out * G) under `kernel`, dropout drawn from
// Rng(seed) so that both kernels see one mask.
Result run(const Case& c, AttentionKernel kernel, detail::AttentionTiles tiles, std::uint64_t seed) {
  Rng rng(seed);
  const Variable q = param(uniform({c.B, c.Tq, c.heads * c.dk}, rng, -2, 2));
  const Variable k = param(uniform({c.B, c.Tk, c.heads * c.dk}, rng, -2, 2));
  const Variable v = param(uniform({c.B, c.Tk, c.heads * c.dv}, rng));
  const Tensor G = uniform({c.B, c.Tq, c.heads * c.dv}, rng);
  Lengths lengths;
  for (std::int64_t b = 0; b < c.B; ++b) lengths.push_back(c.padded ? std::int64_t(rng.below(c.Tk + 1)) : c.Tk);
  const Tensor pad = c.padded ? padding(lengths, c.Tk) : Tensor();
  KernelScope scope(kernel, tiles);
  Rng drop(seed + 1);
  const Variable out = packed_attention(q, k, v, c.heads, pad, c.causal, c.dropout, c.dropout > 0, &drop);
  sum(mul(out, Variable(G))).backward();
  return {out.value(), q.grad(), k.grad(), v.grad()};
}

// |a - b| <= tol * max(1, max |b|), elementwise.
void require_near(const Tensor& a, const Tensor& b, float tol, const char* what) {
  REQUIRE(a.shape() == b.shape());
  float scale = 1.0f;
  for (std::int64_t i = 0; i < b.numel(); ++i) scale = std::max(scale, std::abs(b.data()[i]));
  INFO(what << ": max diff " << max_abs_diff(a, b) << ", scale " << scale);
  REQUIRE(max_abs_diff(a, b) <= tol * scale);
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.numel(), b.data());
}

Case random_case(Rng& rng) {
  Case c;
  c.B = 1 + std::int64_t(rng.below(3));
  c.heads = 1 + std::int64_t(rng.below(3));
  c.dk = 1 + std::int64_t(rng.below(12));
  c.dv = rng.below(2) ? c.dk : 1 + std::int64_t(rng.below(12));
  c.Tk = 1 + std::int64_t(rng.below(70));
  c.causal = rng.below(2) == 1;
  c.Tq = c.causal ? 1 + std::int64_t(rng.below(std::uint64_t(c.Tk))) : 1 + std::int64_t(rng.below(70));
  c.padded = rng.below(3) != 0;
  c.dropout = rng.below(2) ? 0.0f : 0.3f;
  return c;
}

}  // namespace

TEST_CASE("tiled attention equals the materialised kernel: output and every gradient", "[attention][flash]") {
  Rng rng(1601);
  // Small tiles make every shape span several query and key tiles (online
  // softmax rescaling, causal tiles cut mid-row, padding across tile edges);
  // the defaults cover the single-tile case.
  const detail::AttentionTiles tilings[] = {{4, 8}, {7, 5}, {1, 1}, {}};
  for (int trial = 0; trial < 40; ++trial) {
    const Case c = random_case(rng);
    const detail::AttentionTiles tiles = tilings[trial % 4];
    INFO("trial " << trial << ": B " << c.B << " Tq " << c.Tq << " Tk " << c.Tk << " heads " << c.heads << " dk "
                  << c.dk << " dv " << c.dv << " causal " << c.causal << " padded " << c.padded << " dropout "
                  << c.dropout << " tiles " << tiles.rows << "x" << tiles.keys);
    const Result ref = run(c, AttentionKernel::materialized, {}, 100 + trial);
    const Result got = run(c, AttentionKernel::tiled, tiles, 100 + trial);
    require_near(got.out, ref.out, 2e-6f, "output");
    require_near(got.dq, ref.dq, 1e-5f, "dq");
    require_near(got.dk, ref.dk, 1e-5f, "dk");
    require_near(got.dv, ref.dv, 1e-5f, "dv");
  }
}

TEST_CASE("tiled attention: long sequences, every key of a row padded, default tiles", "[attention][flash]") {
  // Tk crosses the default key tile; batch 1 has no visible key (zeros out, zero gradients).
  const Case c{3, 300, 700, 2, 16, 8, false, true, 0.1f};
  Rng rng(7);
  const Result ref = run(c, AttentionKernel::materialized, {}, 42);
  const Result got = run(c, AttentionKernel::tiled, {}, 42);
  require_near(got.out, ref.out, 2e-6f, "output");
  require_near(got.dq, ref.dq, 1e-5f, "dq");
  require_near(got.dk, ref.dk, 1e-5f, "dk");
  require_near(got.dv, ref.dv, 1e-5f, "dv");
  const Case causal{2, 600, 640, 2, 8, 8, true, false, 0.0f};
  const Result cref = run(causal, AttentionKernel::materialized, {}, 43);
  const Result cgot = run(causal, AttentionKernel::tiled, {}, 43);
  require_near(cgot.out, cref.out, 2e-6f, "causal output");
  require_near(cgot.dq, cref.dq, 1e-5f, "causal dq");
  require_near(cgot.dk, cref.dk, 1e-5f, "causal dk");
  require_near(cgot.dv, cref.dv, 1e-5f, "causal dv");

  Rng r(3);  // a fully padded batch entry: zeros and zero gradients, as the reference
  const Variable q = param(uniform({2, 5, 4}, r)), k = param(uniform({2, 9, 4}, r)), v = param(uniform({2, 9, 4}, r));
  KernelScope scope(AttentionKernel::tiled, {2, 4});
  const Variable out = packed_attention(q, k, v, 2, padding({0, 9}, 9), false, 0.0f, false, nullptr);
  sum(out).backward();
  for (std::int64_t i = 0; i < 20; ++i) {
    CHECK(out.value().data()[i] == 0.0f);
    CHECK(q.grad().data()[i] == 0.0f);
  }
}

TEST_CASE("tiled attention: finite differences, accumulation, shared inputs", "[attention][flash][gradcheck]") {
  Rng rng(1602);
  KernelScope scope(AttentionKernel::tiled, {3, 4});
  const std::int64_t H = 2;
  const Variable q = param(uniform({2, 5, H * 3}, rng)), k = param(uniform({2, 9, H * 3}, rng)),
                 v = param(uniform({2, 9, H * 2}, rng));
  const Tensor pad = key_padding_mask({7, 9}, 9);
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    require_gradients_match([&] { return packed_attention(q, k, v, H, pad, causal, 0.0f, false, nullptr); },
                            {q, k, v});
    require_gradients_match([&] {
      Rng fixed(5);
      return packed_attention(q, k, v, H, pad, causal, 0.3f, true, &fixed);
    }, {q, k, v});
    // k used as keys and values: both gradients add into one buffer.
    require_gradients_match([&] { return packed_attention(q, k, k, H, pad, causal, 0.0f, false, nullptr); }, {q, k});
    // self-attention with q = k = v
    require_gradients_match([&] { return packed_attention(k, k, k, H, pad, causal, 0.0f, false, nullptr); }, {k});
  }
}

TEST_CASE("tiled attention: the same bits at 1 and 2 threads", "[attention][flash][threads]") {
  const int saved = num_threads();
  const Case c{2, 150, 200, 3, 16, 16, true, true, 0.2f};
  set_num_threads(1);
  const Result one = run(c, AttentionKernel::tiled, {32, 64}, 9);
  set_num_threads(2);
  const Result two = run(c, AttentionKernel::tiled, {32, 64}, 9);
  set_num_threads(saved);
  CHECK(bitwise_equal(one.out, two.out));
  CHECK(bitwise_equal(one.dq, two.dq));
  CHECK(bitwise_equal(one.dk, two.dk));
  CHECK(bitwise_equal(one.dv, two.dv));
}

TEST_CASE("tiled attention keeps no T x T matrix for backward", "[attention][flash][memory]") {
  Rng rng(1603);
  const std::int64_t B = 1, T = 1024, H = 2, d = 16;
  const Variable q = param(uniform({B, T, H * d}, rng)), k = param(uniform({B, T, H * d}, rng)),
                 v = param(uniform({B, T, H * d}, rng));
  const std::int64_t weights_bytes = B * H * T * T * 4;  // 8 MiB
  auto held_by_graph = [&](AttentionKernel kernel) {
    KernelScope scope(kernel);
    const std::int64_t before = memory_stats().live_bytes;
    const Variable out = packed_attention(q, k, v, H, Tensor(), true, 0.0f, false, nullptr);
    return memory_stats().live_bytes - before;  // the output and what backward keeps
  };
  const std::int64_t materialized = held_by_graph(AttentionKernel::materialized);
  const std::int64_t tiled = held_by_graph(AttentionKernel::tiled);
  INFO("materialized " << materialized << " bytes, tiled " << tiled << " bytes");
  CHECK(materialized >= weights_bytes);
  CHECK(tiled <= B * T * H * d * 4 + B * H * T * 4 + 4096);  // output + logsumexp
}

TEST_CASE("tiled attention: weights asked for still come (alignments), automatic choice by length",
          "[attention][flash][mha]") {
  Rng rng(1604);
  MultiHeadAttention mha(16, 4, rng);
  const Variable x(uniform({2, 40, 16}, rng));
  const Tensor pad = key_padding_mask({40, 31}, 40);
  AttentionResult ref, got;
  {
    KernelScope scope(AttentionKernel::materialized);
    ref = mha.forward(x, x, x, pad, true, MultiHeadAttention::Weights::per_head);
  }
  {
    KernelScope scope(AttentionKernel::tiled, {8, 16});
    got = mha.forward(x, x, x, pad, true, MultiHeadAttention::Weights::per_head);
    CHECK(got.weights.shape() == Shape({2, 4, 40, 40}));
    CHECK(max_abs_diff(got.weights.value(), ref.weights.value()) == 0.0f);
    CHECK(max_abs_diff(got.output.value(), ref.output.value()) <= 1e-6f);
    const AttentionResult none = mha.forward(x, x, x, pad, true);
    CHECK(max_abs_diff(none.output.value(), ref.output.value()) <= 1e-5f);
  }
  // automatic: in training, tiled from 16 keys and 16 queries on; inference
  // (batch-invariant products) always tiles, so the choice never depends on padding
  KernelScope automatic(AttentionKernel::automatic);
  const GemmKernel blas = GemmKernel::blas, inference = GemmKernel::batch_invariant;
  CHECK(detail::use_tiled_attention({2, 16, 16, 4, 32, 32}, blas));
  CHECK(detail::use_tiled_attention({1, 2048, 2048, 4, 32, 32}, blas));
  CHECK_FALSE(detail::use_tiled_attention({2, 1, 500, 4, 32, 32}, blas));
  CHECK_FALSE(detail::use_tiled_attention({2, 40, 8, 4, 32, 32}, blas));
  CHECK(detail::use_tiled_attention({2, 1, 500, 4, 32, 32}, inference));
  CHECK(detail::use_tiled_attention({2, 40, 8, 4, 32, 32}, inference));
  CHECK_THROWS_WITH(parse_attention_kernel("fast"), Catch::Contains("not one of auto, materialized, tiled"));
  CHECK(parse_attention_kernel("tiled") == AttentionKernel::tiled);
}
