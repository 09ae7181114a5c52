// Reductions in a fixed order, shared by the ops and the per-instruction-set
// kernels (their copies are distinct symbols: isa_abi.hpp).
#pragma once

#include <cstdint>

#include "framework/kernels/isa_abi.hpp"
#include "framework/ops/vmath.hpp"

namespace xseq::detail {
inline namespace XSEQ_KERNEL_ABI {

/// Lanes of lane_sum: one vector register's worth of floats (AVX-512 files set 16).
#ifndef XSEQ_LANE_SUM_LANES
#define XSEQ_LANE_SUM_LANES 8
#endif

/// sum over j < n of term(j), added in an order fixed by n alone: term j goes to
/// lane j % L (L = XSEQ_LANE_SUM_LANES), each lane adds its terms in order, and
/// the lanes meet in a fixed tree (lane k + lane k + L/2, then + L/4, ...). It
/// vectorises like `omp simd reduction`, but the order is not left to the
/// compiler, which may peel iterations to align a row (the sum would then depend
/// on the row's address, so on its position in a batch). Every forward reduction
/// uses it, so that inference is batch-invariant (framework/blas.hpp). L matches
/// the vector width: at 8 lanes GCC's AVX-512 code splits the lanes into scalar
/// chains (2x slower than AVX2 on layer norm).
template <class Term>
inline float lane_sum(std::int64_t n, Term&& term) {
  constexpr int L = XSEQ_LANE_SUM_LANES;
  float lane[L] = {};
  std::int64_t j = 0;
  for (; j + L <= n; j += L)
    for (int k = 0; k < L; ++k) lane[k] += term(j + k);
  for (int k = 0; j + k < n; ++k) lane[k] += term(j + k);
  for (int width = L / 2; width >= 1; width /= 2)
    for (int k = 0; k < width; ++k) lane[k] += lane[k + width];
  return lane[0];
}

/// The length of row[0, n) without its trailing -inf entries (masked keys at the
/// end of a padded row): a softmax over that prefix equals the full row's, and
/// does not depend on how much padding the batch added.
inline std::int64_t unmasked_length(const float* row, std::int64_t n) {
  while (n > 0 && row[n - 1] == -__builtin_inff()) --n;
  return n;
}

/// row[j] = exp(row[j] - max) for j < unmasked_length(row, n), 0 after; returns
/// their lane_sum.
inline float exp_shift_sum(float* row, std::int64_t n, float max) {
  const std::int64_t used = unmasked_length(row, n);
  const float total = lane_sum(used, [&](std::int64_t j) { return row[j] = vmath::exp(row[j] - max); });
  for (std::int64_t j = used; j < n; ++j) row[j] = 0.0f;
  return total;
}

/// row[j] = exp(row[j] - max) / sum_k exp(row[k] - max) for j < n: the tail of a
/// softmax once the row's maximum is known (finite). Entries past the last
/// finite one become 0 without entering the sum (unmasked_length).
inline void exp_normalize(float* row, std::int64_t n, float max) {
  const std::int64_t used = unmasked_length(row, n);
  const float inv = 1.0f / exp_shift_sum(row, n, max);
#pragma omp simd
  for (std::int64_t j = 0; j < used; ++j) row[j] *= inv;
}

}  // namespace XSEQ_KERNEL_ABI
}  // namespace xseq::detail
