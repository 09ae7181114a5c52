// xtensor interop: view a Tensor as an xtensor expression (no copy) and build
// a Tensor from any xtensor expression. Heavy header: include it only where
// xtensor expressions are really used (tests, tools), not from other headers.
#pragma once

#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "framework/tensor.hpp"

namespace xseq {

/// A writable xtensor view of t's buffer, with t's shape.
inline auto as_xtensor(Tensor& t) {
  std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
  return xt::adapt(t.data(), static_cast<std::size_t>(t.numel()), xt::no_ownership(), shape);
}

/// A read-only xtensor view of t's buffer.
inline auto as_xtensor(const Tensor& t) {
  std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
  return xt::adapt(t.data(), static_cast<std::size_t>(t.numel()), xt::no_ownership(), shape);
}

/// Evaluates an xtensor expression into a new Tensor.
template <class E>
Tensor from_xtensor(const xt::xexpression<E>& expr) {
  xt::xarray<float> value = expr.derived_cast();
  Shape shape;
  for (auto d : value.shape()) shape.push_back(static_cast<std::int64_t>(d));
  Tensor t(shape);
  std::copy(value.begin(), value.end(), t.data());
  return t;
}

}  // namespace xseq
