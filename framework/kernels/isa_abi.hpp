// The ABI tag of inline kernel helpers. Files compiled for one instruction set
// (vector_kernels_avx2.cpp, ...) define XSEQ_KERNEL_ISA before any include; the
// inline helpers of framework/ops/vmath.hpp and row_math.hpp then live in an
// inline namespace of that name, so each instruction set's copy is a different
// symbol. Without it the linker would keep one copy of, say, vmath::exp for the
// whole program, possibly the AVX-512 one, and a CPU without AVX-512 would fault
// in code that never meant to use it.
#pragma once

#ifdef XSEQ_KERNEL_ISA
#define XSEQ_KERNEL_ABI XSEQ_KERNEL_ISA
#else
#define XSEQ_KERNEL_ABI isa_build
#endif
