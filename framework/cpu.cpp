#include "framework/cpu.hpp"

#include <cstdlib>

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
