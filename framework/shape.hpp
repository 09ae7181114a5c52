// Shape: the dimensions of a row-major tensor, stored inline (no heap
// allocation per op), plus the broadcasting and axis helpers every op uses.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <vector>

namespace xseq {

class Shape {
 public:
  static constexpr int kMaxDims = 6;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims);
  explicit Shape(const std::vector<std::int64_t>& dims);

  int ndim() const { return ndim_; }
  /// Number of elements (1 for a 0-d shape).
  std::int64_t numel() const;
  /// Size of `axis`; negative axes count from the end (-1 is the last).
  std::int64_t dim(int axis) const;
  std::int64_t operator[](int i) const { return dims_[i]; }
  std::int64_t& operator[](int i) { return dims_[i]; }
  void push_back(std::int64_t d);
  const std::int64_t* begin() const { return dims_.data(); }
  const std::int64_t* end() const { return dims_.data() + ndim_; }
  std::vector<std::int64_t> vec() const { return {begin(), end()}; }
  std::string str() const;  // "(2, 3, 4)"

  bool operator==(const Shape& other) const;
  bool operator!=(const Shape& other) const { return !(*this == other); }

 private:
  std::array<std::int64_t, kMaxDims> dims_{};
  int ndim_ = 0;
};

std::ostream& operator<<(std::ostream& out, const Shape& shape);

/// Maps a possibly negative axis into [0, ndim); throws naming `op` if out of range.
int normalize_axis(int axis, int ndim, const char* op);

/// Numpy-style broadcast of two shapes; throws naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

/// True if `from` broadcasts to exactly `to` (numpy rules, `to` unchanged).
bool broadcasts_to(const Shape& from, const Shape& to);

/// Row-major strides of `shape` in elements.
std::array<std::int64_t, Shape::kMaxDims> contiguous_strides(const Shape& shape);

}  // namespace xseq
