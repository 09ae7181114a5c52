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

bool is_precision_name(const std::string& name) {
  return name == precision_name(Precision::fp32) || name == precision_name(Precision::bf16) ||
         name == precision_name(Precision::int8);
}

Precision parse_precision(const std::string& name, const std::string& what) {
  for (Precision p : {Precision::fp32, Precision::bf16, Precision::int8})
    if (name == precision_name(p)) return p;
  throw Error(what + " '" + name + "' is not one of fp32, bf16, int8");
}

Precision training_precision(const std::string& name, const std::string& what) {
  if (name == "auto") return precision_unsupported(Precision::bf16).empty() ? Precision::bf16 : Precision::fp32;
  if (name != "fp32" && name != "bf16") throw Error(what + " '" + name + "' is not one of fp32, bf16, auto");
  const Precision p = parse_precision(name, what);
  const std::string why = precision_unsupported(p);
  if (!why.empty()) throw Error(what + " = " + name + ": " + why + " (fp32 or auto train anywhere)");
  return p;
}

std::string precision_unsupported(Precision p) {
  const bool avx512 = cpu_isa() == Isa::avx512;
  if (p == Precision::bf16 && !(avx512 && (cpu_has(CpuFeature::avx512_bf16) || cpu_has(CpuFeature::amx_bf16))))
    return "bf16 products need a CPU with avx512_bf16 or AMX-BF16" +
           std::string(avx512 ? "" : " (and XSEQ_ISA=avx512 or unset)") + "; this one " + cpu_features_summary();
  // oneDNN runs int8 products from AVX2 on (VNNI makes them fast).
  if (p == Precision::int8 && cpu_isa() == Isa::generic)
    return "int8 products need AVX2 at least (XSEQ_ISA=generic or a CPU without it)";
  return "";
}

Precision product_precision() { return t_precision; }

PrecisionGuard::PrecisionGuard(Precision p) : saved_(t_precision) { t_precision = p; }
PrecisionGuard::~PrecisionGuard() { t_precision = saved_; }

}  // namespace xseq
