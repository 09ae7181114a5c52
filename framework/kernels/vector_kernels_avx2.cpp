// The vector kernels for AVX2 + FMA; CMakeLists.txt
// gives this file alone its instruction-set flags (vector_kernels.hpp).
#define XSEQ_KERNEL_ISA isa_avx2
#define XSEQ_KERNEL_TABLE vector_kernels_avx2
#define XSEQ_KERNEL_ISA_ENUM ::xseq::Isa::avx2
#include "framework/kernels/vector_kernels_impl.hpp"
