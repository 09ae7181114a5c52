#include "framework/blas.hpp"

#include <cblas.h>
#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "framework/autograd.hpp"
#include "framework/cpu.hpp"
#include "framework/error.hpp"
#include "framework/kernels/invariant_gemm.hpp"
#include "framework/onednn.hpp"
#include "framework/precision.hpp"

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

namespace {

// XSEQ_MATMUL, read once: -1 unset (the table decides), else the backend.
int forced_backend() {
  static const int forced = [] {
    const char* env = std::getenv("XSEQ_MATMUL");
    const std::string name = env ? env : "";
    if (name.empty()) return -1;
    XSEQ_CHECK(name == "openblas" || name == "onednn", "XSEQ_MATMUL='", name, "' is not one of openblas, onednn");
    return int(name == "onednn" ? MatmulBackend::onednn : MatmulBackend::openblas);
  }();
  return forced;
}

// fp32 training products, from `build/bench_matmul --backends` at 2 threads on
// the bench models' shapes (docs/precision.md, "Which library"), with oneDNN's
// primitives taking M at run time (training batches change it every step; a
// primitive per shape cost 2x in a real run): on AVX-512 (AMD EPYC Zen 4)
// oneDNN's fp32 matmul was 28% slower to 16% faster than OpenBLAS depending on
// the shape, on AVX2 within noise or slower. OpenBLAS stays everywhere; a
// measurement that shows oneDNN ahead goes in as a row here.
struct BackendRule {
  Isa isa;
  bool trans_a;
  MatmulBackend backend;
};
constexpr BackendRule kFp32Backends[] = {
    {Isa::avx512, false, MatmulBackend::openblas}, {Isa::avx512, true, MatmulBackend::openblas},
    {Isa::avx2, false, MatmulBackend::openblas},   {Isa::avx2, true, MatmulBackend::openblas},
};

}  // namespace

MatmulBackend fp32_backend(bool trans_a, bool /*trans_b*/) {
  if (forced_backend() >= 0) return MatmulBackend(forced_backend());
  for (const BackendRule& r : kFp32Backends)
    if (r.isa == cpu_isa() && r.trans_a == trans_a) return r.backend;
  return MatmulBackend::openblas;
}

const char* matmul_backend_name(MatmulBackend backend) {
  return backend == MatmulBackend::onednn ? "onednn" : "openblas";
}

std::string fp32_backend_setting() {
  return forced_backend() >= 0 ? std::string(matmul_backend_name(MatmulBackend(forced_backend())))
                               : std::string("auto (table)");
}

GemmKernel gemm_kernel() {
  switch (g_override.load(std::memory_order_relaxed)) {
    case GemmKernelOverride::blas: return GemmKernel::blas;
    case GemmKernelOverride::batch_invariant: return GemmKernel::batch_invariant;
    case GemmKernelOverride::onednn_fp32: return GemmKernel::onednn_fp32;
    case GemmKernelOverride::onednn_bf16: return GemmKernel::onednn_bf16;
    default: break;
  }
  if (product_precision() == Precision::bf16) return GemmKernel::onednn_bf16;
  return grad_enabled() ? GemmKernel::blas : GemmKernel::batch_invariant;
}

GemmKernel fp32_kernel(GemmKernel kernel) {
  return kernel == GemmKernel::onednn_fp32 || kernel == GemmKernel::onednn_bf16 ? GemmKernel::blas : kernel;
}

void set_gemm_kernel_override(GemmKernelOverride kernel) { g_override.store(kernel, std::memory_order_relaxed); }

std::string gemm_kernel_name(GemmKernel kernel) {
  if (kernel == GemmKernel::blas) return "blas";
  if (kernel == GemmKernel::onednn_fp32) return "onednn fp32";
  if (kernel == GemmKernel::onednn_bf16) return "onednn bf16";
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
  if (kernel == GemmKernel::onednn_fp32 || kernel == GemmKernel::onednn_bf16)
    return onednn::gemm(kernel == GemmKernel::onednn_bf16 ? Precision::bf16 : Precision::fp32, trans_a, trans_b, M, N,
                        K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (fp32_backend(trans_a, trans_b) == MatmulBackend::onednn)
    return onednn::gemm(Precision::fp32, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  gemm_openblas(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_openblas(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
                   const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
                   std::int64_t ldc) {
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
  // Read here: the loop's threads do not see NoGradGuard. Batches of several
  // products are attention's: small, and fp32 in every precision.
  const GemmKernel kernel = batch > 1 ? fp32_kernel(gemm_kernel()) : gemm_kernel();
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
