// Internal: the tile loops of the batch-invariant product, written once over a
// SIMD policy (invariant_gemm_avx2.cpp, invariant_gemm_avx512.cpp each include
// this after defining theirs). Included only by those two files: every function
// here is static (internal linkage), so no code compiled for one instruction
// set can be picked by the linker for a caller compiled for another.
//
// A policy P provides:
//   V, W (lanes), Mask, mask(n) (the first n lanes), zero(), load(p),
//   loadz(p, m) (masked lanes read as 0), bcast(p), fma(a, b, c) = a * b + c rounded once,
//   store(p, m, v), kFold and fold(acc[kFold]) -> float out[kFold]: each
//   accumulator's lane sum by the same fixed tree.
#pragma once

#include <cstdint>

#include "framework/kernels/invariant_gemm.hpp"

namespace xseq::detail {
namespace {

// C element = alpha * sum + beta * C (beta == 0: C is not read).
[[gnu::always_inline]] inline float finish_scalar(float sum, float alpha, float beta, const float* c) {
  const float scaled = alpha == 1.0f ? sum : alpha * sum;
  if (beta == 0.0f) return scaled;
  return scaled + (beta == 1.0f ? *c : beta * *c);
}

// C = A B: R rows x NV vectors of columns, one FMA chain over k per element.
template <class P, int R, int NV>
[[gnu::always_inline]] inline void nn_tile(const InvariantGemm& g, std::int64_t i0, std::int64_t j0, std::int64_t cols) {
  using V = typename P::V;
  typename P::Mask mask[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    const std::int64_t left = cols - v * P::W;
    mask[v] = P::mask(left < 0 ? 0 : left);
  }
  V acc[R][NV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[r][v] = P::zero();
  const float* a = g.A + i0 * g.lda;
  const float* b = g.B + j0;
  for (std::int64_t k = 0; k < g.K; ++k) {
    V y[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) y[v] = P::loadz(b + k * g.ldb + v * P::W, mask[v]);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const V x = P::bcast(a + r * g.lda + k);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[r][v] = P::fma(x, y[v], acc[r][v]);
    }
  }
  alignas(64) float sums[NV * P::W];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) P::store(sums + v * P::W, P::mask(P::W), acc[r][v]);
    float* c = g.C + (i0 + r) * g.ldc + j0;
    for (std::int64_t j = 0; j < cols; ++j) c[j] = finish_scalar(sums[j], g.alpha, g.beta, c + j);
  }
}

// C = A B^T: R rows of A x Cn rows of B; per element, W partial sums over
// k mod W (one FMA chain each), then P::fold's fixed tree.
template <class P, int R, int Cn>
[[gnu::always_inline]] inline void nt_tile(const InvariantGemm& g, std::int64_t i0, std::int64_t j0, int rows, int cols) {
  using V = typename P::V;
  V acc[R][Cn];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < Cn; ++c) acc[r][c] = P::zero();
  // Missing rows or columns of a partial tile read row 0 / column 0 again: their
  // sums are computed and thrown away, and they never touch another element's lanes.
  const float* a[R];
  const float* b[Cn];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) a[r] = g.A + (i0 + (r < rows ? r : 0)) * g.lda;
#pragma GCC unroll 16
  for (int c = 0; c < Cn; ++c) b[c] = g.B + (j0 + (c < cols ? c : 0)) * g.ldb;
  std::int64_t k = 0;
  for (; k + P::W <= g.K; k += P::W) {
    V x[R], y[Cn];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) x[r] = P::load(a[r] + k);
#pragma GCC unroll 16
    for (int c = 0; c < Cn; ++c) y[c] = P::load(b[c] + k);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < Cn; ++c) acc[r][c] = P::fma(x[r], y[c], acc[r][c]);
  }
  if (k < g.K) {  // the tail: masked lanes add fma(0, 0, acc) = acc
    const auto tail = P::mask(g.K - k);
    V x[R], y[Cn];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) x[r] = P::loadz(a[r] + k, tail);
#pragma GCC unroll 16
    for (int c = 0; c < Cn; ++c) y[c] = P::loadz(b[c] + k, tail);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < Cn; ++c) acc[r][c] = P::fma(x[r], y[c], acc[r][c]);
  }
  static_assert(R * Cn == P::kFold, "an NT tile is one fold");
  float sums[R][Cn];
  P::fold(&acc[0][0], &sums[0][0]);
  for (int r = 0; r < rows; ++r) {
    float* crow = g.C + (i0 + r) * g.ldc + j0;
    for (int c = 0; c < cols; ++c) crow[c] = finish_scalar(sums[r][c], g.alpha, g.beta, crow + c);
  }
}

// Dispatches a row count below R to the tile of exactly that many rows.
template <class P, int R, int NV>
static void nn_rows(const InvariantGemm& g, std::int64_t i0, int rows, std::int64_t j0, std::int64_t cols) {
  if constexpr (R > 1) {
    if (rows < R) return nn_rows<P, R - 1, NV>(g, i0, rows, j0, cols);
  }
  nn_tile<P, R, NV>(g, i0, j0, cols);
}

// The NN product over [m0, m1) x [n0, n1) in tiles of up to R rows x NV vectors:
// column panels outside, rows inside, so that the panel of B (K x NV W) stays
// in cache.
template <class P, int R, int NV>
static void nn_blocks(const InvariantGemm& g, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1) {
  for (std::int64_t j0 = n0; j0 < n1; j0 += NV * P::W) {
    const std::int64_t cols = n1 - j0 < NV * P::W ? n1 - j0 : NV * P::W;
    for (std::int64_t i0 = m0; i0 < m1; i0 += R) {
      const int rows = static_cast<int>(m1 - i0 < R ? m1 - i0 : R);
      nn_rows<P, R, NV>(g, i0, rows, j0, cols);
    }
  }
}

// The NT product over [m0, m1) x [n0, n1) in R x Cn tiles, with cache blocking
// (any order gives the same bits): chunks of B rows that stay in L2 (256 KB)
// outside, then blocks of 64 rows of A, then panels of B rows that stay in L1
// (24 KB), then the register tiles.
template <class P, int R, int Cn>
static void nt_blocks(const InvariantGemm& g, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1) {
  constexpr std::int64_t kRowBlock = 64, kChunkBytes = 256 * 1024, kPanelBytes = 24 * 1024;
  const std::int64_t row_bytes = 4 * (g.K > 0 ? g.K : 1);
  std::int64_t panel = kPanelBytes / row_bytes;
  panel = panel < Cn ? Cn : panel > 64 ? 64 : panel - panel % Cn;
  std::int64_t chunk = kChunkBytes / row_bytes;
  chunk = chunk < panel ? panel : chunk - chunk % panel;
  for (std::int64_t c0 = n0; c0 < n1; c0 += chunk) {
    const std::int64_t c1 = n1 - c0 < chunk ? n1 : c0 + chunk;
    for (std::int64_t b0 = m0; b0 < m1; b0 += kRowBlock) {
      const std::int64_t b1 = m1 - b0 < kRowBlock ? m1 : b0 + kRowBlock;
      for (std::int64_t p0 = c0; p0 < c1; p0 += panel) {
        const std::int64_t p1 = c1 - p0 < panel ? c1 : p0 + panel;
        for (std::int64_t i0 = b0; i0 < b1; i0 += R) {
          const int rows = static_cast<int>(b1 - i0 < R ? b1 - i0 : R);
          for (std::int64_t j0 = p0; j0 < p1; j0 += Cn)
            nt_tile<P, R, Cn>(g, i0, j0, rows, static_cast<int>(p1 - j0 < Cn ? p1 - j0 : Cn));
        }
      }
    }
  }
}

template <class P>
static void tile(const InvariantGemm& g, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1) {
  if (!g.trans_b) {
    // Wide tiles (R rows x 2 vectors) when there are rows to share B's loads;
    // for one or two rows (a decoding step's P V) 4 vectors, so that more FMA
    // chains run side by side. No shape changes a bit of any element.
    if (m1 - m0 <= 2)
      nn_blocks<P, 2, 4>(g, m0, m1, n0, n1);
    else
      nn_blocks<P, P::kNNRows, 2>(g, m0, m1, n0, n1);
    return;
  }
  // Tiles of kFold elements (one fold each): 4 x 4 (AVX2: 4 x 2) rows x columns
  // when A has 4 rows to give, else 2 x 8 or 1 x 16 (2 x 4, 1 x 8), so that no
  // FMA is spent on a row that is not there. The fold is the same tree for every
  // element, so the tile shape changes no bit.
  if (m1 - m0 >= 4)
    nt_blocks<P, 4, P::kFold / 4>(g, m0, m1, n0, n1);
  else if (m1 - m0 >= 2)
    nt_blocks<P, 2, P::kFold / 2>(g, m0, m1, n0, n1);
  else
    nt_blocks<P, 1, P::kFold>(g, m0, m1, n0, n1);
}

}  // namespace
}  // namespace xseq::detail
