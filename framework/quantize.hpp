// int8 weights for inference (docs/precision.md). A weight W (out, in) is stored
// as int8 values q with one fp32 scale per output row: W[r][c] ~ q[r][c] * s[r],
// s[r] = max_c |W[r][c]| / 127 (symmetric, round to nearest). At run time each
// row of the activations x is quantised the same way (dynamically, per row), the
// int8 product is exact in int32 (oneDNN, VNNI), and
//   y[i][j] = acc[i][j] * sx[i] * s[j] + b[j].
// Every output element depends on its own row of x only, and integer sums do not
// depend on their order: int8 decoding is batch-invariant like fp32 decoding.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "framework/autograd.hpp"
#include "framework/module.hpp"
#include "framework/tensor.hpp"

namespace xseq {

struct QuantizedMatrix {
  std::int64_t rows = 0, cols = 0;  ///< (out, in)
  std::vector<std::int8_t> values;  ///< row-major, rows * cols
  std::vector<float> scales;        ///< one per row
  /// The fp32 matrix it stands for: values * scales.
  Tensor dequantize() const;
};

/// Quantises a 2-D weight per row (an all-zero row gets scale 1).
QuantizedMatrix quantize_rows(const Tensor& w);
/// max over elements of |w - dequantize(quantize_rows(w))|; each is at most half
/// its row's scale.
float max_quantization_error(const Tensor& w, const QuantizedMatrix& q);

/// y (rows x q.rows, row stride q.rows) = x (rows x q.cols) W^T + bias (bias may be
/// null) through int8 as described above; relu applied when asked.
void int8_linear(const float* x, std::int64_t rows, const QuantizedMatrix& q, const float* bias, bool relu, float* y);

/// The parameters of `model` that `xseq quantize` turns into int8: every Dense
/// layer's weight (attention projections, feed-forward, output layer). Models
/// add their tied output projection (Seq2Seq::int8_parameters()).
std::vector<NamedParameter> dense_weights(const Module& model);

}  // namespace xseq
