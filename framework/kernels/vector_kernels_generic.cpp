// The vector kernels for baseline x86-64 (SSE2): the path every x86-64 CPU runs; CMakeLists.txt
// gives this file alone its instruction-set flags (vector_kernels.hpp).
#define XSEQ_KERNEL_ISA isa_generic
#define XSEQ_KERNEL_TABLE vector_kernels_generic
#define XSEQ_KERNEL_ISA_ENUM ::xseq::Isa::generic
#include "framework/kernels/vector_kernels_impl.hpp"
