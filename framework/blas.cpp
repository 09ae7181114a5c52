#include "framework/blas.hpp"

#include <cblas.h>

namespace xseq {

void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
          const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
          std::int64_t ldc) {
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(M), static_cast<blasint>(N), static_cast<blasint>(K), alpha, A,
              static_cast<blasint>(lda), B, static_cast<blasint>(ldb), beta, C, static_cast<blasint>(ldc));
}

void gemm_batched(bool trans_a, bool trans_b, std::int64_t batch, std::int64_t M, std::int64_t N,
                  std::int64_t K, float alpha, const float* A, std::int64_t stride_a, const float* B,
                  std::int64_t stride_b, float beta, float* C, std::int64_t stride_c) {
  const std::int64_t lda = trans_a ? M : K;
  const std::int64_t ldb = trans_b ? K : N;
  // Below ~2 MFLOP per product, one BLAS call cannot keep two threads busy:
  // parallelise over the batch instead (BLAS sees omp_in_parallel and stays serial).
  // A shared output (stride_c == 0) accumulates over the batch, so it stays serial.
  const bool small = 2.0 * double(M) * double(N) * double(K) < 2.0e6;
  if (small && batch > 1 && stride_c != 0) {
#pragma omp parallel for schedule(static)
    for (std::int64_t b = 0; b < batch; ++b)
      gemm(trans_a, trans_b, M, N, K, alpha, A + b * stride_a, lda, B + b * stride_b, ldb, beta,
           C + b * stride_c, N);
  } else {
    for (std::int64_t b = 0; b < batch; ++b)
      gemm(trans_a, trans_b, M, N, K, alpha, A + b * stride_a, lda, B + b * stride_b, ldb, beta,
           C + b * stride_c, N);
  }
}

void blas_set_num_threads(int n) { openblas_set_num_threads(n); }
int blas_num_threads() { return openblas_get_num_threads(); }

}  // namespace xseq
