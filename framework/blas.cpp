#include "framework/blas.hpp"

#include <cblas.h>
#include <omp.h>

#include <atomic>

#include "framework/autograd.hpp"
#include "framework/kernels/invariant_gemm.hpp"

namespace xseq {

namespace {

void blas_gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
               const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
               std::int64_t ldc) {
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(M), static_cast<blasint>(N), static_cast<blasint>(K), alpha, A,
              static_cast<blasint>(lda), B, static_cast<blasint>(ldb), beta, C, static_cast<blasint>(ldc));
}

// Below this many rows per thread a row split loses to one BLAS call.
constexpr std::int64_t kMinRowsPerThread = 16;

std::atomic<GemmKernelOverride> g_override{GemmKernelOverride::automatic};

}  // namespace

GemmKernel gemm_kernel() {
  switch (g_override.load(std::memory_order_relaxed)) {
    case GemmKernelOverride::blas: return GemmKernel::blas;
    case GemmKernelOverride::batch_invariant: return GemmKernel::batch_invariant;
    default: return grad_enabled() ? GemmKernel::blas : GemmKernel::batch_invariant;
  }
}

void set_gemm_kernel_override(GemmKernelOverride kernel) { g_override.store(kernel, std::memory_order_relaxed); }

std::string gemm_kernel_name(GemmKernel kernel) {
  if (kernel == GemmKernel::blas) return "blas";
  return std::string("batch_invariant (") + detail::invariant_gemm_isa() + ")";
}

void gemm_rows(int part, int parts, bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
               float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
               std::int64_t ldc) {
  const std::int64_t r0 = M * part / parts, r1 = M * (part + 1) / parts;
  // Row r of op(A) is row r of A, or column r of A when transposed.
  blas_gemm(trans_a, trans_b, r1 - r0, N, K, alpha, A + (trans_a ? r0 : r0 * lda), lda, B, ldb, beta, C + r0 * ldc,
            ldc);
}

void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
          const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
          std::int64_t ldc) {
  gemm(gemm_kernel(), trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm(GemmKernel kernel, bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
          float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
          std::int64_t ldc) {
  if (kernel == GemmKernel::batch_invariant)
    return detail::invariant_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads > 1 && M >= kMinRowsPerThread * threads) {
#pragma omp parallel num_threads(threads)
    gemm_rows(omp_get_thread_num(), omp_get_num_threads(), trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta,
              C, ldc);
    return;
  }
  blas_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_batched(bool trans_a, bool trans_b, std::int64_t batch, std::int64_t M, std::int64_t N,
                  std::int64_t K, float alpha, const float* A, std::int64_t stride_a, const float* B,
                  std::int64_t stride_b, float beta, float* C, std::int64_t stride_c) {
  const std::int64_t lda = trans_a ? M : K;
  const std::int64_t ldb = trans_b ? K : N;
  // Below ~2 MFLOP per product, one BLAS call cannot keep two threads busy:
  // parallelise over the batch instead (BLAS sees omp_in_parallel and stays serial).
  // A shared output (stride_c == 0) accumulates over the batch, so it stays serial.
  const GemmKernel kernel = gemm_kernel();  // read here: the loop's threads do not see NoGradGuard
  const bool small = 2.0 * double(M) * double(N) * double(K) < 2.0e6;
  if (small && batch > 1 && stride_c != 0) {
#pragma omp parallel for schedule(static)
    for (std::int64_t b = 0; b < batch; ++b)
      gemm(kernel, trans_a, trans_b, M, N, K, alpha, A + b * stride_a, lda, B + b * stride_b, ldb, beta,
           C + b * stride_c, N);
  } else {
    for (std::int64_t b = 0; b < batch; ++b)
      gemm(kernel, trans_a, trans_b, M, N, K, alpha, A + b * stride_a, lda, B + b * stride_b, ldb, beta,
           C + b * stride_c, N);
  }
}

void blas_set_num_threads(int n) { openblas_set_num_threads(n); }
int blas_num_threads() { return openblas_get_num_threads(); }

}  // namespace xseq
