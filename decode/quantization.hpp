// xseq quantize: a checkpoint for int8 decoding (docs/precision.md). The weights
// int8 inference uses (every Dense weight, and a tied target embedding that is
// also the output projection: Seq2SeqModel::int8_parameters) are stored as int8
// with one fp32 scale per output row; everything else stays fp32; no optimizer
// state. The result decodes in int8 by default and is refused by training.
#pragma once

#include <cstdint>
#include <string>

namespace xseq {

struct QuantizeReport {
  std::uintmax_t bytes_before = 0, bytes_after = 0;  ///< file sizes
  std::int64_t quantized = 0, quantized_values = 0;  ///< weights stored as int8, and their values
  std::int64_t kept = 0, kept_values = 0;            ///< parameters kept in fp32
  double largest_error = 0;          ///< max |w - dequantised w| over every quantised value
  double largest_error_step = 0;     ///< the quantisation step (scale) of that value's row
  std::string largest_error_parameter;
};

/// Quantises checkpoint `in` (its moving average when it has one) into `out`,
/// atomically. Refuses `out` naming the same file as `in` (its fp32 weights would
/// be lost) and an `in` that is quantised already.
QuantizeReport quantize_checkpoint(const std::string& in, const std::string& out);

}  // namespace xseq
