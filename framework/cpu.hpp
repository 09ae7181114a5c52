// What the CPU offers, read once at run time: xseq's own kernels pick their
// instruction set from it (one build runs on any x86-64), and XSEQ_ISA caps it
// (generic | avx2 | avx512) to test or compare a slower path on a faster CPU.
#pragma once

#include <string>

namespace xseq {

/// The instruction-set levels xseq's kernels are written for, in order.
enum class Isa { generic = 0, avx2 = 1, avx512 = 2 };

/// The best level this CPU supports (avx2 needs AVX2 + FMA; avx512 needs
/// AVX-512 F, BW, DQ and VL), capped by XSEQ_ISA when it is set. An XSEQ_ISA the
/// CPU lacks, or a value that is no level, is an xseq::Error naming both.
Isa cpu_isa();
/// What the CPU itself supports, ignoring XSEQ_ISA.
Isa cpu_isa_supported();
/// "generic", "avx2", "avx512".
const char* isa_name(Isa isa);
/// Parses a level name; throws xseq::Error listing the names on anything else.
Isa parse_isa(const std::string& name);

/// Instructions for low-precision products (framework/precision.hpp).
enum class CpuFeature { avx512_bf16, avx512_vnni, avx_vnni, amx_bf16, amx_int8 };
/// Whether the CPU reports `f` (XSEQ_ISA does not change the answer).
bool cpu_has(CpuFeature f);
/// "has avx512_bf16, avx512_vnni" / "has none of avx512_bf16, ..." for messages.
std::string cpu_features_summary();

}  // namespace xseq
