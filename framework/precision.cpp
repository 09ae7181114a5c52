#include "framework/precision.hpp"

#include "framework/cpu.hpp"
#include "framework/error.hpp"

namespace xseq {
namespace {
thread_local Precision t_precision = Precision::fp32;
}  // namespace

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::bf16: return "bf16";
    case Precision::int8: return "int8";
    default: return "fp32";
  }
}

Precision parse_precision(const std::string& name, const std::string& what) {
  for (Precision p : {Precision::fp32, Precision::bf16, Precision::int8})
    if (name == precision_name(p)) return p;
  throw Error(what + " '" + name + "' is not one of fp32, bf16, int8");
}

std::string precision_unsupported(Precision p) {
  const bool avx512 = cpu_isa() == Isa::avx512;
  if (p == Precision::bf16 && !(avx512 && (cpu_has(CpuFeature::avx512_bf16) || cpu_has(CpuFeature::amx_bf16))))
    return "bf16 products need a CPU with avx512_bf16 or AMX-BF16" +
           std::string(avx512 ? "" : " (and XSEQ_ISA=avx512 or unset)") + "; this one " + cpu_features_summary();
  if (p == Precision::int8 && !((avx512 && cpu_has(CpuFeature::avx512_vnni)) || cpu_has(CpuFeature::avx_vnni)))
    return "int8 products need a CPU with AVX-512 VNNI or AVX-VNNI; this one " + cpu_features_summary();
  return "";
}

Precision product_precision() { return t_precision; }

PrecisionGuard::PrecisionGuard(Precision p) : saved_(t_precision) { t_precision = p; }
PrecisionGuard::~PrecisionGuard() { t_precision = saved_; }

}  // namespace xseq
