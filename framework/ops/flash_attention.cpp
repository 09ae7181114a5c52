// The tiled packed_attention (FlashAttention's online softmax, on CPU caches).
// Same contract as the materialised kernel in ops/attention.cpp, but no T x T
// matrix is kept: forward walks each (batch, head) pair in tiles of `rows`
// queries x `keys` keys and keeps only the output O and the per-row logsumexp
// L (B, h, Tq); backward recomputes the tiles from L. Tile products are BLAS
// sgemm calls (serial, inside the OpenMP loop) with the tile in L1/L2.
//
// Forward, per query tile, over key tiles c (scale = 1/sqrt(dk), mask m,
// dropout factors Dr = D/(1-p) regenerated from the counter of each weight):
//   S = scale Q K_c^T + m,  m' = max(m_i, rowmax S),  P~ = exp(S - m'),
//   l = l e^(m - m') + rowsum P~,  A = A e^(m - m') + (P~ * Dr) V_c,  m = m'
//   O = A / l,  L = m + log l   (a row with no visible key: O = 0, L = +inf)
// Backward, with D_i = rowsum(dO * O) (= rowsum(dP * P), dropout included):
//   P = exp(S - L),  Pd = P * Dr,  dV_c += Pd^T dO,  dP = dO V_c^T,
//   dS = P * (dP * Dr - D) = Pd * dP - P * D,  dQ += scale dS K_c,  dK_c += scale dS^T Q
//
// Threads: forward runs one (pair, query tile) per iteration; backward one pair
// per iteration (its query tiles in order, adding into dK and dV). Every
// output element is computed by one thread in a fixed order, so the result is
// the same bits for any thread count.
#include <cmath>
#include <limits>

#include "framework/blas.hpp"
#include "framework/ops.hpp"
#include "framework/ops/flash_attention.hpp"
#include "framework/kernels/vector_kernels.hpp"
#include "framework/ops/vmath.hpp"

namespace xseq {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kPosInf = std::numeric_limits<float>::infinity();

AttentionKernel g_kernel = AttentionKernel::automatic;
detail::AttentionTiles g_tiles;

// Default tile sizes and the automatic threshold, measured with
// `bench_ops --attention --threads 1` (CPU time, medians, kernels alternating;
// docs/bench.md, "Long sequences") on the 2-core AMD EPYC (Zen 5) machine at
// 2,048 tokens, 4 heads of 32: 64 query rows x 256 keys was within noise of
// the best tiling at every length from 16 to 2,048 (32x512, 64x512, 128x512
// alike; 128x256 lost on causal rows), and keeps the backward's three tiles
// (3 x 64 KB) in L2.
constexpr std::int64_t kDefaultRows = 64;
constexpr std::int64_t kDefaultKeys = 256;
// automatic: the tiled kernel from this many keys on. Measured (same bench):
// at 4 keys the materialised kernel was 5-13% faster, at 8 they were even, at
// 16 the tiled one was 8-17% faster, at 128 1.5-1.8x and at 2,048 2.4-4.4x.
constexpr std::int64_t kTiledMinKeys = 16;
// ... and from this many queries on: with fewer, the weights are O(Tk) per head
// anyway, and incremental decoding (1 query) measured 2-15% faster (CPU time) on
// the materialised kernel (`xseq bench configs/bench/transformer-small.toml
// --decode --threads 1 --attention materialized|tiled`, alternating).
constexpr std::int64_t kTiledMinQueries = 16;

using detail::AttentionShape;
using detail::DropoutMask;

// One call's constants for the tile loops.
struct TileJob {
  const AttentionShape& s;
  const float *q, *k, *v, *pad;  // pad: additive (B, Tk) or null
  bool causal, dropping;
  const DropoutMask& mask;
  std::int64_t rows, keys;  // tile sizes
  float scale;
  GemmKernel kernel;  // read once on the op's thread (its workers do not see NoGradGuard)
  const kernels::VectorKernels& k_ = kernels::vector_kernels();  // the row kernels for this CPU
};

// S (rows x cols, row stride cols) = scale Q K_c^T + padding for queries
// r0.. and keys c0..; columns past a row's causal limit become -inf.
void score_tile(const TileJob& j, std::int64_t pair, std::int64_t r0, std::int64_t rows, std::int64_t c0,
                std::int64_t cols, float* S) {
  const AttentionShape& s = j.s;
  gemm(j.kernel, false, true, rows, cols, s.dk, j.scale, j.q + s.q_at(pair) + r0 * s.ldq(), s.ldq(),
       j.k + s.k_at(pair) + c0 * s.ldq(), s.ldq(), 0.0f, S, cols);
  const float* pad = j.pad ? j.pad + (pair / s.heads) * s.Tk + c0 : nullptr;
  for (std::int64_t i = 0; i < rows; ++i) {
    float* row = S + i * cols;
    const std::int64_t vis = std::clamp<std::int64_t>(s.visible(r0 + i, j.causal) - c0, 0, cols);
    if (pad) {
#pragma omp simd
      for (std::int64_t c = 0; c < vis; ++c) row[c] += pad[c];
    }
    std::fill(row + vis, row + cols, kNegInf);
  }
}

// row[c] = from[c] * Dr(element (query, c0 + c) of the pair): the dropout
// factors of one tile row (row may be from), by the vector kernel.
void drop_row(const TileJob& j, std::int64_t pair, std::int64_t query, std::int64_t c0, float* row,
              const float* from, std::int64_t cols) {
  // DropoutMask hashes the low 32 bits of the element's counter.
  const auto first = static_cast<std::uint32_t>(j.s.p_offset(pair) + query * j.s.Tk + c0);
  j.k_.dropout(from, row, cols, j.mask.key, j.mask.threshold, j.mask.scale, first, false);
}

// Online softmax over one score tile: updates the row maxima m and sums l,
// rescales the accumulated output rows A (stride lda), turns S into the
// (dropped) unnormalised weights for A += S V_c.
void online_softmax_tile(const TileJob& j, std::int64_t pair, std::int64_t r0, std::int64_t rows, std::int64_t c0,
                         std::int64_t cols, float* S, float* m, float* l, float* A, std::int64_t lda) {
  for (std::int64_t i = 0; i < rows; ++i) {
    float* row = S + i * cols;
    const float mx = j.k_.row_max(row, cols, m[i]);
    if (mx == kNegInf) {  // nothing visible yet: the tile adds nothing
      std::fill(row, row + cols, 0.0f);
      continue;
    }
    // Keys masked at the end of the row (padding) add exact zeros: leaving them
    // out of the sum keeps it independent of the batch's padding.
    const float sum = j.k_.exp_shift_sum(row, cols, mx);
    if (c0 > 0 && m[i] != mx) {  // (at c0 = 0, A is not written yet)
      const float alpha = vmath::exp(m[i] - mx);  // 0 when m was -inf
      l[i] *= alpha;
      float* arow = A + i * lda;
      for (std::int64_t d = 0; d < j.s.dv; ++d) arow[d] *= alpha;
    }
    l[i] += sum;
    m[i] = mx;
    if (j.dropping) drop_row(j, pair, r0 + i, c0, row, row, cols);
  }
}

// Forward of one (pair, query tile): writes its output rows and logsumexps.
void forward_tile(const TileJob& j, std::int64_t pair, std::int64_t r0, float* out, float* L, float* S, float* m,
                  float* l) {
  const AttentionShape& s = j.s;
  const std::int64_t rows = std::min(j.rows, s.Tq - r0);
  const std::int64_t kend = s.visible(r0 + rows - 1, j.causal);
  float* A = out + s.o_at(pair) + r0 * s.ldv();
  std::fill(m, m + rows, kNegInf);
  std::fill(l, l + rows, 0.0f);
  for (std::int64_t c0 = 0; c0 < kend; c0 += j.keys) {
    const std::int64_t cols = std::min(j.keys, kend - c0);
    score_tile(j, pair, r0, rows, c0, cols, S);
    online_softmax_tile(j, pair, r0, rows, c0, cols, S, m, l, A, s.ldv());
    gemm(j.kernel, false, false, rows, s.dv, cols, 1.0f, S, cols, j.v + s.v_at(pair) + c0 * s.ldv(), s.ldv(),
         c0 == 0 ? 0.0f : 1.0f, A, s.ldv());
  }
  for (std::int64_t i = 0; i < rows; ++i) {
    float* arow = A + i * s.ldv();
    const bool empty = l[i] == 0.0f;
    const float inv = empty ? 0.0f : 1.0f / l[i];
    for (std::int64_t d = 0; d < s.dv; ++d) arow[d] *= inv;
    L[pair * s.Tq + r0 + i] = empty ? kPosInf : m[i] + std::log(l[i]);
  }
}

// Per-thread scratch of the backward pass.
struct BackwardScratch {
  std::vector<float> P, Pd, dS, D;
  BackwardScratch(const TileJob& j, bool dropping)
      : P(std::size_t(j.rows * j.keys)),
        Pd(dropping ? std::size_t(j.rows * j.keys) : 0),
        dS(std::size_t(j.rows * j.keys)),
        D(std::size_t(j.s.Tq)) {}
};

// Gradient pointers and first-write betas of one backward call.
struct Grads {
  float *dq, *dk, *dv;
  float beta_q;
  const float *gout, *out, *L;
};

// One key tile of one query tile's backward: recompute P from L, then the four
// products. dQ's first key tile writes with beta_q.
void backward_tile(const TileJob& j, const Grads& g, BackwardScratch& w, std::int64_t pair, std::int64_t r0,
                   std::int64_t rows, std::int64_t c0, std::int64_t cols, float beta_q) {
  const AttentionShape& s = j.s;
  float* P = w.P.data();
  score_tile(j, pair, r0, rows, c0, cols, P);
  const float* Lrow = g.L + pair * s.Tq + r0;
  for (std::int64_t i = 0; i < rows; ++i) j.k_.exp_shift(P + i * cols, cols, Lrow[i]);
  const float* Pd = P;
  if (j.dropping) {
    for (std::int64_t i = 0; i < rows; ++i) drop_row(j, pair, r0 + i, c0, w.Pd.data() + i * cols, P + i * cols, cols);
    Pd = w.Pd.data();
  }
  const float* dO = g.gout + s.o_at(pair) + r0 * s.ldv();
  if (g.dv)  // dV_c += Pd^T dO
    gemm(j.kernel, true, false, cols, s.dv, rows, 1.0f, Pd, cols, dO, s.ldv(), 1.0f,
         g.dv + s.v_at(pair) + c0 * s.ldv(), s.ldv());
  if (!g.dq && !g.dk) return;
  float* dS = w.dS.data();  // dP = dO V_c^T, then dS = P * (dP * Dr - D)
  gemm(j.kernel, false, true, rows, cols, s.dv, 1.0f, dO, s.ldv(), j.v + s.v_at(pair) + c0 * s.ldv(), s.ldv(), 0.0f,
       dS, cols);
  for (std::int64_t i = 0; i < rows; ++i) {  // P * (dP * Dr - D) = Pd * dP - P * D: no second hash
    float* drow = dS + i * cols;
    const float* prow = P + i * cols;
    const float* pdrow = Pd + i * cols;
    const float Di = w.D[std::size_t(r0 + i)];
#pragma omp simd
    for (std::int64_t c = 0; c < cols; ++c) drow[c] = pdrow[c] * drow[c] - prow[c] * Di;
  }
  const float* Q = j.q + s.q_at(pair) + r0 * s.ldq();
  if (g.dq)
    gemm(j.kernel, false, false, rows, s.dk, cols, j.scale, dS, cols, j.k + s.k_at(pair) + c0 * s.ldq(), s.ldq(),
         beta_q, g.dq + s.q_at(pair) + r0 * s.ldq(), s.ldq());
  if (g.dk)
    gemm(j.kernel, true, false, cols, s.dk, rows, j.scale, dS, cols, Q, s.ldq(), 1.0f,
         g.dk + s.k_at(pair) + c0 * s.ldq(), s.ldq());
}

// Backward of one pair: D = rowsum(dO * O), dK and dV cleared when written
// fresh, then every query tile over its visible key tiles.
void backward_pair(const TileJob& j, const Grads& g, float beta_k, float beta_v, BackwardScratch& w,
                   std::int64_t pair) {
  const AttentionShape& s = j.s;
  for (std::int64_t i = 0; i < s.Tq; ++i) {
    const float* dO = g.gout + s.o_at(pair) + i * s.ldv();
    const float* O = g.out + s.o_at(pair) + i * s.ldv();
    float dot = 0.0f;
    for (std::int64_t d = 0; d < s.dv; ++d) dot += dO[d] * O[d];
    w.D[std::size_t(i)] = dot;
  }
  for (std::int64_t t = 0; t < s.Tk; ++t) {
    if (g.dk && beta_k == 0.0f) std::fill_n(g.dk + s.k_at(pair) + t * s.ldq(), s.dk, 0.0f);
    if (g.dv && beta_v == 0.0f) std::fill_n(g.dv + s.v_at(pair) + t * s.ldv(), s.dv, 0.0f);
  }
  for (std::int64_t r0 = 0; r0 < s.Tq; r0 += j.rows) {
    const std::int64_t rows = std::min(j.rows, s.Tq - r0);
    const std::int64_t kend = s.visible(r0 + rows - 1, j.causal);
    for (std::int64_t c0 = 0; c0 < kend; c0 += j.keys)
      backward_tile(j, g, w, pair, r0, rows, c0, std::min(j.keys, kend - c0), c0 == 0 ? g.beta_q : 1.0f);
  }
}

// The attention weights P (B, h, Tq, Tk) the tiled forward never stores, when a
// caller asks for them (alignments, heatmaps): each pair's scores again, then
// P = exp(S - L) with the logsumexp L of the forward, so that the weights are
// exactly those the output was computed with (masked keys are 0).
Tensor weights_from_logsumexp(const TileJob& j, const Tensor& L) {
  const AttentionShape& s = j.s;
  Tensor P({s.B, s.heads, s.Tq, s.Tk});
#pragma omp parallel for schedule(static)
  for (std::int64_t pair = 0; pair < s.pairs(); ++pair) {
    float* Pp = P.data() + s.p_offset(pair);
    score_tile(j, pair, 0, s.Tq, 0, s.Tk, Pp);
    for (std::int64_t i = 0; i < s.Tq; ++i) {
      float* row = Pp + i * s.Tk;
      const float Li = L.data()[pair * s.Tq + i];
      if (Li == kPosInf) {  // nothing visible
        std::fill(row, row + s.Tk, 0.0f);
        continue;
      }
      j.k_.exp_shift(row, s.Tk, Li);
    }
  }
  return P;
}

}  // namespace

void set_attention_kernel(AttentionKernel kernel) { g_kernel = kernel; }
AttentionKernel attention_kernel() { return g_kernel; }

AttentionKernel parse_attention_kernel(const std::string& name) {
  if (name == "auto") return AttentionKernel::automatic;
  if (name == "materialized") return AttentionKernel::materialized;
  if (name == "tiled") return AttentionKernel::tiled;
  XSEQ_CHECK(false, "attention kernel '", name, "' is not one of auto, materialized, tiled");
  return AttentionKernel::automatic;
}

namespace detail {

void set_attention_tiles(AttentionTiles tiles) { g_tiles = tiles; }
AttentionTiles attention_tiles() { return g_tiles; }

bool use_tiled_attention(const AttentionShape& s, GemmKernel kernel) {
  if (s.Tq == 0 || s.Tk == 0 || g_kernel == AttentionKernel::materialized) return false;
  // Inference (batch-invariant products) always tiles: a choice by shape would
  // depend on the batch's padded lengths, and the two kernels round differently.
  if (g_kernel == AttentionKernel::tiled || kernel == GemmKernel::batch_invariant) return true;
  return s.Tk >= kTiledMinKeys && s.Tq >= kTiledMinQueries;
}

Variable tiled_attention(const Variable& q, const Variable& k, const Variable& v, const AttentionShape& s,
                         const Tensor& key_padding, bool causal, bool dropping, const DropoutMask& mask,
                         GemmKernel kernel, Tensor* weights) {
  const std::int64_t rows = g_tiles.rows > 0 ? g_tiles.rows : kDefaultRows;
  const std::int64_t keys = g_tiles.keys > 0 ? g_tiles.keys : kDefaultKeys;
  const TileJob job{s,      q.value().data(), k.value().data(), v.value().data(),
                    key_padding.defined() ? key_padding.data() : nullptr,
                    causal, dropping,         mask,             std::min(rows, s.Tq),
                    std::min(keys, s.Tk),     1.0f / std::sqrt(float(s.dk)), kernel};
  Tensor out({s.B, s.Tq, s.ldv()});
  Tensor L({s.B, s.heads, s.Tq});
  const std::int64_t tiles = (s.Tq + job.rows - 1) / job.rows;
#pragma omp parallel
  {
    std::vector<float> S(std::size_t(job.rows * job.keys)), m(std::size_t(job.rows)), l(std::size_t(job.rows));
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t item = 0; item < s.pairs() * tiles; ++item)
      forward_tile(job, item / tiles, (item % tiles) * job.rows, out.data(), L.data(), S.data(), m.data(), l.data());
  }
  if (weights) *weights = weights_from_logsumexp(job, L);

  return Variable::from_op("packed_attention", out, {q, k, v}, [q, k, v, out, L, s, key_padding, causal, dropping,
                                                                 mask, rows = job.rows, keys = job.keys, kernel](
                                                                    const Tensor& gout) {
    const GradSlots slots({q, k, v});
    const TileJob j{s,      q.value().data(), k.value().data(), v.value().data(),
                    key_padding.defined() ? key_padding.data() : nullptr,
                    causal, dropping,         mask,             rows,
                    keys,   1.0f / std::sqrt(float(s.dk)), kernel};
    const Grads g{slots.data[0], slots.data[1], slots.data[2], slots.beta[0], gout.data(), out.data(), L.data()};
#pragma omp parallel
    {
      BackwardScratch w(j, dropping);
#pragma omp for schedule(static)
      for (std::int64_t pair = 0; pair < s.pairs(); ++pair) backward_pair(j, g, slots.beta[1], slots.beta[2], w, pair);
    }
  });
}

}  // namespace detail
}  // namespace xseq
