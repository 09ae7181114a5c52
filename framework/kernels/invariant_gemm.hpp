// Internal: the batch-invariant matrix product (framework/blas.hpp,
// GemmKernel::batch_invariant) and its per-ISA tile kernels.
//
// Why: OpenBLAS picks a micro-kernel by a row's position in its block and by
// the matrix sizes (an 8-row block, a 4-row tail, a "small matrix" path), and
// each adds the K products in its own order. A sentence decoded alone and the
// same sentence inside a batch of 32 then get scores that differ in the last
// bits, and sometimes a different token. Here every element of C is a fixed
// function of its row of A, its column of op(B) and K alone:
//   C = A B   (B not transposed): one FMA chain over k = 0..K-1 per element,
//             vectorised across columns (lanes never mix);
//   C = A B^T (B transposed):    16 (AVX-512) or 8 (AVX2) partial sums over
//             k mod lanes, one FMA chain each, folded by a fixed tree
//             (lane l + l+W/2, then + l+W/4, ...), the same for every element.
// Which tile an element lands in, how many rows or columns share it and how
// the work is split over threads change nothing. The generic (pre-AVX2) path
// is a plain sequential loop per element: deterministic too, but its bits
// differ from the AVX2 and AVX-512 paths, which also differ from each other.
#pragma once

#include <cstdint>

namespace xseq::detail {

/// C (M x N, row stride ldc) = alpha * A op(B) + beta * C, A row-major (M x K,
/// row stride lda; a transposed A is packed before it gets here), B (K x N) or,
/// when trans_b, stored as (N x K). beta == 0 never reads C.
struct InvariantGemm {
  bool trans_b;
  std::int64_t M, N, K;
  float alpha;
  const float* A;
  std::int64_t lda;
  const float* B;
  std::int64_t ldb;
  float beta;
  float* C;
  std::int64_t ldc;
};

/// Computes rows [m0, m1) x columns [n0, n1) of C.
using InvariantGemmTile = void (*)(const InvariantGemm& g, std::int64_t m0, std::int64_t m1, std::int64_t n0,
                                   std::int64_t n1);

InvariantGemmTile invariant_gemm_tile_generic();
InvariantGemmTile invariant_gemm_tile_avx2();    // framework/kernels/invariant_gemm_avx2.cpp
InvariantGemmTile invariant_gemm_tile_avx512();  // framework/kernels/invariant_gemm_avx512.cpp

/// The whole product on the kernel of cpu_isa(), split over the calling
/// thread's OpenMP threads when it is large enough and not already inside a
/// parallel region. trans_a: A is stored (K x M) and packed first.
void invariant_gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
                    const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
                    std::int64_t ldc);

/// The ISA invariant_gemm runs on ("generic", "avx2", "avx512").
const char* invariant_gemm_isa();

}  // namespace xseq::detail
