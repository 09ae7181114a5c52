#include "framework/cpu.hpp"

#include <cpuid.h>

#include <cstdlib>
#include <utility>

#include "framework/error.hpp"

namespace xseq {

Isa cpu_isa_supported() {
  static const Isa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
      return Isa::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
    return Isa::generic;
  }();
  return isa;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "generic";
  }
}

Isa parse_isa(const std::string& name) {
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512})
    if (name == isa_name(isa)) return isa;
  throw Error("XSEQ_ISA='" + name + "' is not one of generic, avx2, avx512");
}

namespace {
// CPUID leaf 7: EBX/ECX/EDX of subleaf 0, EAX of subleaf 1.
struct Leaf7 {
  unsigned ebx = 0, ecx = 0, edx = 0, eax1 = 0;
};
Leaf7 leaf7() {
  Leaf7 r;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return r;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  r.ebx = ebx, r.ecx = ecx, r.edx = edx;
  __cpuid_count(7, 1, eax, ebx, ecx, edx);
  r.eax1 = eax;
  return r;
}
}  // namespace

bool cpu_has(CpuFeature f) {
  static const Leaf7 l = leaf7();
  switch (f) {
    case CpuFeature::avx512_vnni: return (l.ecx >> 11) & 1u;
    case CpuFeature::avx512_bf16: return (l.eax1 >> 5) & 1u;
    case CpuFeature::avx_vnni: return (l.eax1 >> 4) & 1u;
    case CpuFeature::amx_bf16: return (l.edx >> 22) & 1u;
    case CpuFeature::amx_int8: return (l.edx >> 25) & 1u;
  }
  return false;
}

std::string cpu_features_summary() {
  const std::pair<CpuFeature, const char*> all[] = {{CpuFeature::avx512_bf16, "avx512_bf16"},
                                                    {CpuFeature::avx512_vnni, "avx512_vnni"},
                                                    {CpuFeature::avx_vnni, "avx_vnni"},
                                                    {CpuFeature::amx_bf16, "amx_bf16"},
                                                    {CpuFeature::amx_int8, "amx_int8"}};
  std::string has;
  for (const auto& [f, name] : all)
    if (cpu_has(f)) has += (has.empty() ? "" : ", ") + std::string(name);
  return (has.empty() ? std::string("has none of avx512_bf16, avx512_vnni, avx_vnni, amx_bf16, amx_int8")
                      : "has " + has) +
         " (kernels: " + isa_name(cpu_isa()) + ")";
}

Isa cpu_isa() {
  static const Isa isa = [] {
    const Isa supported = cpu_isa_supported();
    const char* forced = std::getenv("XSEQ_ISA");
    if (forced == nullptr || *forced == '\0') return supported;
    const Isa wanted = parse_isa(forced);
    XSEQ_CHECK(static_cast<int>(wanted) <= static_cast<int>(supported), "XSEQ_ISA=", forced,
               " asks for instructions this CPU does not have (it supports up to ", isa_name(supported), ")");
    return wanted;
  }();
  return isa;
}

}  // namespace xseq
