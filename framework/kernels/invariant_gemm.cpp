#include "framework/kernels/invariant_gemm.hpp"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "framework/cpu.hpp"

namespace xseq::detail {
namespace {

// The generic path: one sequential loop per element (no FMA assumed), so the
// same deterministic rule, with the bits of a CPU without AVX2.
void tile_generic(const InvariantGemm& g, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1) {
  for (std::int64_t i = m0; i < m1; ++i) {
    const float* a = g.A + i * g.lda;
    float* c = g.C + i * g.ldc;
    for (std::int64_t j = n0; j < n1; ++j) {
      float sum = 0.0f;
      if (g.trans_b) {
        const float* b = g.B + j * g.ldb;
        for (std::int64_t k = 0; k < g.K; ++k) sum += a[k] * b[k];
      } else {
        for (std::int64_t k = 0; k < g.K; ++k) sum += a[k] * g.B[k * g.ldb + j];
      }
      const float scaled = g.alpha == 1.0f ? sum : g.alpha * sum;
      c[j] = g.beta == 0.0f ? scaled : scaled + (g.beta == 1.0f ? c[j] : g.beta * c[j]);
    }
  }
}

InvariantGemmTile tile_for(Isa isa) {
  switch (isa) {
    case Isa::avx512: return invariant_gemm_tile_avx512();
    case Isa::avx2: return invariant_gemm_tile_avx2();
    default: return invariant_gemm_tile_generic();
  }
}

// Below this many multiply-adds a product runs on one thread.
constexpr double kParallelFlops = 1 << 18;

}  // namespace

InvariantGemmTile invariant_gemm_tile_generic() { return &tile_generic; }

const char* invariant_gemm_isa() { return isa_name(cpu_isa()); }

void invariant_gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
                    const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
                    std::int64_t ldc) {
  if (M == 0 || N == 0) return;
  static const InvariantGemmTile tile = tile_for(cpu_isa());
  std::vector<float> packed;  // op(A) row-major when A is stored transposed (backward only)
  if (trans_a) {
    packed.resize(static_cast<std::size_t>(M * K));
    for (std::int64_t k = 0; k < K; ++k)
      for (std::int64_t i = 0; i < M; ++i) packed[static_cast<std::size_t>(i * K + k)] = A[k * lda + i];
    A = packed.data();
    lda = K;
  }
  const InvariantGemm g{trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads == 1 || double(M) * double(N) * double(K) < kParallelFlops) {
    tile(g, 0, M, 0, N);
    return;
  }
  // Split the longer side into one contiguous band per thread (rows in steps of
  // 8, columns in steps of 64): any split gives the same bits.
  const bool by_rows = M >= N || M >= 8 * threads;
  const std::int64_t extent = by_rows ? M : N, unit = by_rows ? 8 : 64;
  const std::int64_t units = (extent + unit - 1) / unit;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int part = 0; part < threads; ++part) {
    const std::int64_t lo = std::min(extent, units * part / threads * unit);
    const std::int64_t hi = std::min(extent, units * (part + 1) / threads * unit);
    if (lo >= hi) continue;
    if (by_rows)
      tile(g, lo, hi, 0, N);
    else
      tile(g, 0, M, lo, hi);
  }
}

}  // namespace xseq::detail
