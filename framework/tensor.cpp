#include "framework/tensor.hpp"

#include "framework/parallel.hpp"

#include <algorithm>
#include <cmath>
#include <ostream>

namespace xseq {

Tensor::Tensor(const Shape& shape)
    : shape_(shape), storage_(std::make_shared<FloatBuffer>(static_cast<std::size_t>(shape.numel()))) {}

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t(shape);
  t.fill(value);
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
  XSEQ_CHECK(static_cast<std::int64_t>(values.size()) == shape.numel(), "Tensor::from_vector: shape ",
             shape, " needs ", shape.numel(), " values, got ", values.size());
  Tensor t(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

float Tensor::item() const {
  XSEQ_CHECK(defined() && numel() == 1, "Tensor::item: expected a one-element tensor, got shape ",
             shape_);
  return data()[0];
}

std::int64_t Tensor::offset_of(std::initializer_list<std::int64_t> index) const {
  XSEQ_CHECK(defined(), "Tensor::at: tensor is undefined");
  XSEQ_CHECK(static_cast<int>(index.size()) == ndim(), "Tensor::at: ", index.size(),
             " indices for a tensor of shape ", shape_);
  std::int64_t offset = 0;
  int axis = 0;
  for (auto i : index) {
    XSEQ_CHECK(i >= 0 && i < shape_[axis], "Tensor::at: index ", i, " out of range for axis ", axis,
               " of shape ", shape_);
    offset = offset * shape_[axis] + i;
    ++axis;
  }
  return offset;
}

float Tensor::at(std::initializer_list<std::int64_t> index) const { return data()[offset_of(index)]; }
float& Tensor::at(std::initializer_list<std::int64_t> index) { return data()[offset_of(index)]; }

Tensor Tensor::reshape(const std::vector<std::int64_t>& dims) const {
  Shape shape;
  int infer = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      XSEQ_CHECK(infer < 0, "reshape: only one dimension may be -1 when reshaping ", shape_);
      infer = static_cast<int>(i);
      shape.push_back(1);
    } else {
      shape.push_back(dims[i]);
      known *= dims[i];
    }
  }
  if (infer >= 0) {
    XSEQ_CHECK(known > 0 && numel() % known == 0, "reshape: cannot infer -1 to reshape ", shape_,
               " (", numel(), " elements)");
    shape[infer] = numel() / known;
  }
  return reshape(shape);
}

Tensor Tensor::reshape(const Shape& shape) const {
  XSEQ_CHECK(shape.numel() == numel(), "reshape: cannot view ", shape_, " (", numel(),
             " elements) as ", shape, " (", shape.numel(), " elements)");
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return Tensor();
  Tensor t(shape_);
  std::copy(data(), data() + numel(), t.data());
  return t;
}

void Tensor::fill(float value) {
  float* p = data();
  const std::int64_t n = numel();
  // Parallel like the kernels that read it next, so each core fills the part it will use.
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
  for (std::int64_t i = 0; i < n; ++i) p[i] = value;
}

std::vector<float> Tensor::to_vector() const {
  if (!defined()) return {};
  return std::vector<float>(data(), data() + numel());
}

IndexTensor::IndexTensor(const Shape& s, std::vector<std::int32_t> values) : shape(s), data(std::move(values)) {
  XSEQ_CHECK(static_cast<std::int64_t>(data.size()) == shape.numel(), "IndexTensor: shape ", shape,
             " needs ", shape.numel(), " values, got ", data.size());
}

namespace {
void print_axis(std::ostream& out, const Tensor& t, int axis, std::int64_t offset) {
  constexpr std::int64_t kEdge = 3;  // shown at each end of a long axis
  const std::int64_t n = t.shape()[axis];
  std::int64_t stride = 1;
  for (int d = axis + 1; d < t.ndim(); ++d) stride *= t.shape()[d];
  out << '[';
  for (std::int64_t i = 0; i < n; ++i) {
    if (n > 2 * kEdge && i == kEdge) {
      out << "..., ";
      i = n - kEdge;
    }
    if (axis + 1 == t.ndim()) out << t.data()[offset + i];
    else print_axis(out, t, axis + 1, offset + i * stride);
    if (i + 1 < n) out << ", ";
  }
  out << ']';
}
}  // namespace

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  if (!t.defined()) return out << "Tensor(undefined)";
  out << "Tensor" << t.shape() << ' ';
  if (t.ndim() == 0) return out << t.data()[0];
  print_axis(out, t, 0, 0);
  return out;
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  XSEQ_CHECK(a.shape() == b.shape(), "max_abs_diff: shapes differ: ", a.shape(), " vs ", b.shape());
  float worst = 0.0f;
  const float* pa = a.data();
  const float* pb = b.data();
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    const float d = std::fabs(pa[i] - pb[i]);
    if (!(d <= worst)) worst = d;  // also propagates NaN
  }
  return worst;
}

}  // namespace xseq
