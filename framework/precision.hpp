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
/// Parses a precision name; throws xseq::Error naming `what` (a flag or key)
/// and listing the names on anything else.
Precision parse_precision(const std::string& name, const std::string& what);

/// Why this CPU cannot run `p`'s products natively ("" when it can): bf16 needs
/// avx512_bf16 (or AMX-BF16), int8 AVX-512 VNNI or AVX-VNNI; fp32 runs anywhere.
/// XSEQ_ISA below avx512 counts as the CPU lacking them.
std::string precision_unsupported(Precision p);

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
