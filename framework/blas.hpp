// The one door to BLAS. Only blas.cpp includes OpenBLAS's <cblas.h> (it clashes
// with xtensor-blas's bundled declarations), so every matrix product in xseq
// goes through these functions.
#pragma once

#include <cstdint>

namespace xseq {

/// Row-major C = alpha * op(A) op(B) + beta * C, with op(X) = X or X^T.
/// op(A) is (M, K), op(B) is (K, N), C is (M, N); lda/ldb/ldc are row strides.
/// Outside a parallel region, with several threads and enough rows, each thread
/// computes a block of C's rows with single-threaded BLAS (measured faster than
/// OpenBLAS's own threading on xseq's shapes, docs/bench.md); inside one, or for
/// few rows, it is one BLAS call.
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
          const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
          std::int64_t ldc);

/// Rows [M * part / parts, M * (part + 1) / parts) of the gemm above, as one
/// BLAS call: for callers that split several products over their own threads.
void gemm_rows(int part, int parts, bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
               float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
               std::int64_t ldc);

/// `batch` independent gemms with fixed element strides between matrices
/// (stride 0 reuses one matrix for every batch entry). Small products run as an
/// OpenMP loop over the batch with single-threaded BLAS inside; large ones call
/// multi-threaded BLAS one after the other.
void gemm_batched(bool trans_a, bool trans_b, std::int64_t batch, std::int64_t M, std::int64_t N,
                  std::int64_t K, float alpha, const float* A, std::int64_t stride_a, const float* B,
                  std::int64_t stride_b, float beta, float* C, std::int64_t stride_c);

void blas_set_num_threads(int n);
int blas_num_threads();

}  // namespace xseq
