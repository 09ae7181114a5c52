// The vector kernels for AVX-512 F, BW, DQ and VL, 512-bit vectors; CMakeLists.txt
// gives this file alone its instruction-set flags (vector_kernels.hpp).
#define XSEQ_KERNEL_ISA isa_avx512
#define XSEQ_KERNEL_TABLE vector_kernels_avx512
#define XSEQ_KERNEL_ISA_ENUM ::xseq::Isa::avx512
#define XSEQ_LANE_SUM_LANES 16
#include "framework/kernels/vector_kernels_impl.hpp"
