// The door to oneDNN (Debian's libdnnl 2.6), as blas.hpp is to OpenBLAS: only
// onednn.cpp includes <dnnl.hpp>. Matrix products in bf16 (training under
// train.precision = "bf16", decoding under --precision bf16), int8 (quantised
// checkpoints) and, when XSEQ_MATMUL=onednn asks for it, fp32.
//
// Each product shape gets one matmul primitive, created on first use (oneDNN
// 2.6: matmul::desc + matmul::primitive_desc(desc, attr, engine)) and cached for
// the process: later calls only wrap the pointers. oneDNN's instruction set is
// capped by XSEQ_ISA like xseq's own kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "framework/precision.hpp"

namespace xseq::onednn {

/// Row-major C = alpha * op(A) op(B) + beta * C as blas.hpp's gemm, through
/// oneDNN's matmul. With Precision::bf16, A and B are rounded to bfloat16 first
/// (round to nearest even) and the products accumulate in fp32; C stays fp32.
void gemm(Precision precision, bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
          float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
          std::int64_t ldc);

/// C (M x N, int32, row stride N) = A (M x K, int8) B^T (B: N x K, int8): exact
/// integer products, the core of int8 linear layers (framework/quantize.hpp).
void gemm_s8(std::int64_t M, std::int64_t N, std::int64_t K, const std::int8_t* A, const std::int8_t* B,
             std::int32_t* C);

/// Rounds n floats to bfloat16 (kept as the upper 16 bits of each; NaN stays NaN).
void to_bf16(const float* in, std::uint16_t* out, std::int64_t n);
/// The float value of a bfloat16.
float bf16_to_float(std::uint16_t v);

/// Primitives created so far (tests: one per shape).
std::size_t cached_primitives();
/// oneDNN's version and the instruction set it runs ("2.6.3, avx512_core_bf16").
std::string describe();

}  // namespace xseq::onednn
