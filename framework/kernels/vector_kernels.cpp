#include "framework/kernels/vector_kernels.hpp"

#include <atomic>

#include "framework/error.hpp"

namespace xseq::kernels {

const VectorKernels& vector_kernels_for(Isa isa) {
  XSEQ_CHECK(static_cast<int>(isa) <= static_cast<int>(cpu_isa_supported()), "the ", isa_name(isa),
             " kernels need instructions this CPU does not have (it supports up to ", isa_name(cpu_isa_supported()),
             ")");
  switch (isa) {
    case Isa::avx512: return vector_kernels_avx512;
    case Isa::avx2: return vector_kernels_avx2;
    default: return vector_kernels_generic;
  }
}

namespace {
std::atomic<const VectorKernels*> g_override{nullptr};
}  // namespace

const VectorKernels& vector_kernels() {
  static const VectorKernels& chosen = vector_kernels_for(cpu_isa());
  const VectorKernels* forced = g_override.load(std::memory_order_relaxed);
  return forced ? *forced : chosen;
}

void set_vector_kernels_override(const VectorKernels* kernels) { g_override.store(kernels); }

}  // namespace xseq::kernels
