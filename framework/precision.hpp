// The number format of matrix products: fp32 (OpenBLAS or xseq's batch-invariant
// kernel), bf16 (oneDNN: bf16 inputs, fp32 accumulation and output) or int8
// (oneDNN: int8 weights quantised per output channel, activations per row,
// exact int32 accumulation). docs/precision.md says where each applies.
#pragma once

#include <string>

namespace xseq {

enum class Precision : unsigned char { fp32, bf16, int8 };

/// "fp32", "bf16", "int8".
const char* precision_name(Precision p);
/// True for "fp32", "bf16" and "int8".
bool is_precision_name(const std::string& name);
/// Parses a precision name; throws xseq::Error naming `what` (a flag or key)
/// and listing the names on anything else.
Precision parse_precision(const std::string& name, const std::string& what);

/// Why this CPU cannot run `p`'s products ("" when it can): bf16 needs
/// avx512_bf16 (or AMX-BF16) and kernels at avx512 (XSEQ_ISA); int8 needs AVX2
/// (oneDNN's int8 kernels; VNNI makes them fast); fp32 runs anywhere.
std::string precision_unsupported(Precision p);

/// A training precision by name: fp32, bf16, or auto (bf16 where
/// precision_unsupported(bf16) is empty, fp32 elsewhere). int8 trains nothing,
/// and bf16 on a CPU without it is an xseq::Error: both name `what` (the key or
/// flag) and, for bf16, the missing feature.
Precision training_precision(const std::string& name, const std::string& what);

/// The precision of the products that ops start on this thread: fp32 unless a
/// PrecisionGuard says otherwise (the trainer under train.precision = "bf16", the
/// Translator under --precision). int8 applies to weights that carry an int8
/// copy (a quantised checkpoint, framework/quantize.hpp); every other product of
/// an int8 run stays fp32.
Precision product_precision();

class PrecisionGuard {
 public:
  explicit PrecisionGuard(Precision p);
  ~PrecisionGuard();
  PrecisionGuard(const PrecisionGuard&) = delete;
  PrecisionGuard& operator=(const PrecisionGuard&) = delete;

 private:
  Precision saved_;
};

}  // namespace xseq
