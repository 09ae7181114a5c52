#include "framework/quantize.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "framework/kernels/vector_kernels.hpp"
#include "framework/layers/basic.hpp"
#include "framework/onednn.hpp"
#include "framework/parallel.hpp"

namespace xseq {
namespace {

// Quantises one row of n floats: out = round(x / s), s = max|x| / 127 (1 when 0).
float quantize_row(const float* x, std::int64_t n, std::int8_t* out) {
  const kernels::VectorKernels& k = kernels::vector_kernels();
  const float amax = k.abs_max(x, n);
  const float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
  k.quantize_s8(x, n, 1.0f / scale, out);
  return scale;
}

void collect_dense(const Module& m, const std::string& prefix, std::vector<NamedParameter>& out) {
  if (const auto* dense = dynamic_cast<const Dense*>(&m)) out.push_back({prefix + "weight", dense->weight()});
  for (const auto& [name, child] : m.children()) collect_dense(*child, prefix + name + ".", out);
}

}  // namespace

Tensor QuantizedMatrix::dequantize() const {
  Tensor w({rows, cols});
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c)
      w.data()[r * cols + c] = float(values[std::size_t(r * cols + c)]) * scales[std::size_t(r)];
  return w;
}

QuantizedMatrix quantize_rows(const Tensor& w) {
  XSEQ_CHECK(w.ndim() == 2, "quantize: a weight must be (out, in), got ", w.shape());
  QuantizedMatrix q;
  q.rows = w.dim(0);
  q.cols = w.dim(1);
  q.values.resize(std::size_t(q.rows * q.cols));
  q.scales.resize(std::size_t(q.rows));
  for (std::int64_t r = 0; r < q.rows; ++r)
    q.scales[std::size_t(r)] = quantize_row(w.data() + r * q.cols, q.cols, q.values.data() + r * q.cols);
  return q;
}

float max_quantization_error(const Tensor& w, const QuantizedMatrix& q) {
  const Tensor d = q.dequantize();
  float worst = 0.0f;
  for (std::int64_t i = 0; i < w.numel(); ++i) worst = std::max(worst, std::fabs(w.data()[i] - d.data()[i]));
  return worst;
}

void int8_linear(const float* x, std::int64_t rows, const QuantizedMatrix& q, const float* bias, bool relu, float* y) {
  const std::int64_t K = q.cols, N = q.rows;
  thread_local std::vector<std::int8_t> xq;
  thread_local std::vector<float> xs;
  thread_local std::vector<std::int32_t> acc;
  xq.resize(std::size_t(rows * K));
  xs.resize(std::size_t(rows));
  acc.resize(std::size_t(rows * N));
  std::int8_t* pq = xq.data();
  float* ps = xs.data();
#pragma omp parallel for if (rows * K > kParallelGrain && !omp_in_parallel()) schedule(static)
  for (std::int64_t i = 0; i < rows; ++i) ps[i] = quantize_row(x + i * K, K, pq + i * K);
  onednn::gemm_s8(rows, N, K, pq, q.values.data(), acc.data());
  const std::int32_t* pa = acc.data();
  const float* sw = q.scales.data();
  const auto dequantize_row = kernels::vector_kernels().dequantize_row;
#pragma omp parallel for if (rows * N > kParallelGrain && !omp_in_parallel()) schedule(static)
  for (std::int64_t i = 0; i < rows; ++i) dequantize_row(pa + i * N, ps[i], sw, bias, relu, y + i * N, N);
}

std::vector<NamedParameter> dense_weights(const Module& model) {
  std::vector<NamedParameter> out;
  collect_dense(model, "", out);
  return out;
}

}  // namespace xseq
