// The one door to BLAS. Only blas.cpp includes OpenBLAS's <cblas.h> (it clashes
// with xtensor-blas's bundled declarations), so every matrix product in xseq
// goes through these functions.
#pragma once

#include <cstdint>
#include <string>

namespace xseq {

/// Which code computes a product.
///   blas:            OpenBLAS sgemm, the fastest; but its micro-kernel (and so
///                    the order in which a row's K products are added) depends on
///                    the row's position in the matrix and on the matrix sizes.
///   batch_invariant: framework/kernels/invariant_gemm: every element of C is a
///                    fixed function of its row of op(A), its column of op(B) and
///                    K, whatever the batch, the row's position or the threads.
/// Decoding, scoring and evaluation use batch_invariant, so that a sentence gets
/// the same output and score to the last bit alone or in any batch
/// (docs/architecture.md, "Batch-invariant inference"); training uses blas.
///   onednn_fp32:     oneDNN's fp32 matmul, always (benchmarks, tests; blas
///                    itself goes to oneDNN where fp32_backend says).
///   onednn_bf16:     oneDNN's matmul on bf16-rounded inputs with fp32
///                    accumulation (train.precision = "bf16", --precision bf16).
/// int8 products are not a kernel of this door: linear layers whose weights
/// carry an int8 copy call framework/quantize.hpp's int8_linear.
enum class GemmKernel : unsigned char { blas, batch_invariant, onednn_fp32, onednn_bf16 };

/// The kernel for the products an op starts on this thread: onednn_bf16 under
/// a bf16 PrecisionGuard (framework/precision.hpp); else batch_invariant while
/// gradients are off (NoGradGuard: decoding, scoring, evaluation); else blas
/// (fp32, OpenBLAS or oneDNN by fp32_backend); set_gemm_kernel_override() wins
/// (benchmarks, tests). An op that
/// runs products inside its own parallel loop reads this once, before the loop
/// (OpenMP's worker threads do not see the calling thread's NoGradGuard), and
/// passes it to each product.
GemmKernel gemm_kernel();
/// Forces one kernel for every product of the process (`automatic`: the rule above).
enum class GemmKernelOverride { automatic, blas, batch_invariant, onednn_fp32, onednn_bf16 };
void set_gemm_kernel_override(GemmKernelOverride kernel);
/// "blas" or "batch_invariant (avx512)" and the like, for reports.
std::string gemm_kernel_name(GemmKernel kernel);
/// `kernel` for products that stay fp32 in every precision (attention's small
/// tile products): the oneDNN kernels become blas, the others stay.
GemmKernel fp32_kernel(GemmKernel kernel);

/// The library behind an fp32 training product (GemmKernel::blas): XSEQ_MATMUL=
/// openblas|onednn forces one (anything else is an xseq::Error); otherwise the
/// table in blas.cpp, measured by `build/bench_matmul --backends`, picks by
/// instruction set and operand layout. A pure function of the product's shape
/// and the machine, so runs and resumes take the same path.
enum class MatmulBackend : unsigned char { openblas, onednn };
MatmulBackend fp32_backend(bool trans_a, bool trans_b);
const char* matmul_backend_name(MatmulBackend backend);
/// The forced backend, or "auto (table)" for reports.
std::string fp32_backend_setting();

/// Row-major C = alpha * op(A) op(B) + beta * C, with op(X) = X or X^T.
/// op(A) is (M, K), op(B) is (K, N), C is (M, N); lda/ldb/ldc are row strides.
/// Outside a parallel region, with several threads and enough rows, each thread
/// computes a block of C's rows with single-threaded BLAS (measured faster than
/// OpenBLAS's own threading on xseq's shapes, docs/bench.md); inside one, or for
/// few rows, it is one BLAS call.
void gemm(GemmKernel kernel, bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
          float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
          std::int64_t ldc);
/// The same with gemm_kernel() of the calling thread: for calls outside a parallel region.
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
          const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
          std::int64_t ldc);

/// gemm through OpenBLAS whatever fp32_backend says (benchmarks comparing the two).
void gemm_openblas(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
                   const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
                   std::int64_t ldc);

/// Rows [M * part / parts, M * (part + 1) / parts) of the gemm above, as one
/// BLAS call: for callers that split several products over their own threads
/// (backward passes: always the blas kernel).
void gemm_rows(int part, int parts, bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
               float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
               std::int64_t ldc);

/// `batch` independent gemms with fixed element strides between matrices
/// (stride 0 reuses one matrix for every batch entry). Small products run as an
/// OpenMP loop over the batch with single-threaded BLAS inside; large ones call
/// multi-threaded BLAS one after the other. The kernel is gemm_kernel() of the
/// calling thread.
void gemm_batched(bool trans_a, bool trans_b, std::int64_t batch, std::int64_t M, std::int64_t N,
                  std::int64_t K, float alpha, const float* A, std::int64_t stride_a, const float* B,
                  std::int64_t stride_b, float beta, float* C, std::int64_t stride_c);

void blas_set_num_threads(int n);
int blas_num_threads();

}  // namespace xseq
