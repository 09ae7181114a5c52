#include "framework/shape.hpp"

#include <algorithm>
#include <ostream>
#include <sstream>

#include "framework/error.hpp"

namespace xseq {

Shape::Shape(std::initializer_list<std::int64_t> dims) {
  for (auto d : dims) push_back(d);
}

Shape::Shape(const std::vector<std::int64_t>& dims) {
  for (auto d : dims) push_back(d);
}

void Shape::push_back(std::int64_t d) {
  XSEQ_CHECK(ndim_ < kMaxDims, "Shape: at most ", kMaxDims, " dimensions are supported, got more");
  XSEQ_CHECK(d >= 0, "Shape: dimension sizes must be >= 0, got ", d);
  dims_[ndim_++] = d;
}

std::int64_t Shape::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < ndim_; ++i)
    XSEQ_CHECK(!__builtin_mul_overflow(n, dims_[i], &n), "Shape ", str(), " has more elements than an int64 can count");
  return n;
}

std::int64_t Shape::dim(int axis) const { return dims_[normalize_axis(axis, ndim_, "Shape::dim")]; }

bool Shape::operator==(const Shape& other) const {
  if (ndim_ != other.ndim_) return false;
  for (int i = 0; i < ndim_; ++i)
    if (dims_[i] != other.dims_[i]) return false;
  return true;
}

std::string Shape::str() const {
  std::ostringstream out;
  out << *this;
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const Shape& shape) {
  out << '(';
  for (int i = 0; i < shape.ndim(); ++i) out << (i ? ", " : "") << shape[i];
  if (shape.ndim() == 1) out << ',';
  return out << ')';
}

int normalize_axis(int axis, int ndim, const char* op) {
  XSEQ_CHECK(axis >= -ndim && axis < ndim, op, ": axis ", axis, " is out of range for a ", ndim,
             "-d tensor (expected ", -ndim, " <= axis < ", ndim, ")");
  return axis < 0 ? axis + ndim : axis;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int n = std::max(a.ndim(), b.ndim());
  Shape out;
  for (int i = 0; i < n; ++i) {
    const int ia = i - (n - a.ndim()), ib = i - (n - b.ndim());
    const std::int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    XSEQ_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", a, " and ", b,
               " cannot be broadcast (dimension ", i, ": ", da, " vs ", db, ")");
    out.push_back(da == 1 ? db : da);
  }
  return out;
}

bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.ndim() > to.ndim()) return false;
  const int offset = to.ndim() - from.ndim();
  for (int i = 0; i < from.ndim(); ++i)
    if (from[i] != 1 && from[i] != to[i + offset]) return false;
  return true;
}

std::array<std::int64_t, Shape::kMaxDims> contiguous_strides(const Shape& shape) {
  std::array<std::int64_t, Shape::kMaxDims> strides{};
  std::int64_t s = 1;
  for (int i = shape.ndim() - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

}  // namespace xseq
