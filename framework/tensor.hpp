// Tensor: a float32, row-major, contiguous n-d array. The buffer is an xtensor
// container (xt::uvector) drawn from xseq's caching allocator; framework/xt.hpp
// adapts it to xtensor expressions without copying. Copies are always explicit
// (clone); reshape shares the buffer.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <vector>

#include <xtensor/xstorage.hpp>

#include "framework/error.hpp"
#include "framework/memory.hpp"
#include "framework/shape.hpp"

namespace xseq {

using FloatBuffer = xt::uvector<float, PoolAllocator<float>>;

class Tensor {
 public:
  /// An undefined tensor (defined() is false): "no value", e.g. no gradient yet.
  Tensor() = default;
  /// Uninitialised contents; use zeros()/full() when the values matter.
  explicit Tensor(const Shape& shape);

  static Tensor empty(const Shape& shape) { return Tensor(shape); }
  static Tensor zeros(const Shape& shape) { return full(shape, 0.0f); }
  static Tensor ones(const Shape& shape) { return full(shape, 1.0f); }
  static Tensor full(const Shape& shape, float value);
  static Tensor scalar(float value) { return full(Shape{}, value); }
  /// Copies `values` (row-major); throws if their count does not match `shape`.
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values);

  bool defined() const { return static_cast<bool>(storage_); }
  const Shape& shape() const { return shape_; }
  int ndim() const { return shape_.ndim(); }
  std::int64_t numel() const { return shape_.numel(); }
  std::int64_t dim(int axis) const { return shape_.dim(axis); }

  float* data() { return storage_ ? storage_->data() : nullptr; }
  const float* data() const { return storage_ ? storage_->data() : nullptr; }
  /// The value of a one-element tensor.
  float item() const;
  /// Element at a full multi-index (bounds-checked; for tests and tools, not kernels).
  float at(std::initializer_list<std::int64_t> index) const;
  float& at(std::initializer_list<std::int64_t> index);

  /// Same buffer, new shape (one dimension may be -1 and is inferred).
  Tensor reshape(const std::vector<std::int64_t>& dims) const;
  Tensor reshape(std::initializer_list<std::int64_t> dims) const { return reshape(std::vector<std::int64_t>(dims)); }
  Tensor reshape(const Shape& shape) const;
  /// A deep copy with its own buffer.
  Tensor clone() const;
  void fill(float value);
  void zero() { fill(0.0f); }
  std::vector<float> to_vector() const;
  /// True if both tensors use the same buffer.
  bool shares_storage(const Tensor& other) const { return storage_ == other.storage_; }

 private:
  std::int64_t offset_of(std::initializer_list<std::int64_t> index) const;

  Shape shape_;
  std::shared_ptr<FloatBuffer> storage_;
};

/// Integer tensor for token ids and class targets (row-major, contiguous).
struct IndexTensor {
  Shape shape;
  std::vector<std::int32_t> data;

  IndexTensor() = default;
  IndexTensor(const Shape& s, std::vector<std::int32_t> values);
  std::int64_t numel() const { return shape.numel(); }
};

/// Prints the shape and the values (at most 6 per axis, "..." for the rest).
std::ostream& operator<<(std::ostream& out, const Tensor& t);

/// Largest |a - b| over all elements; throws if the shapes differ.
float max_abs_diff(const Tensor& a, const Tensor& b);

}  // namespace xseq
