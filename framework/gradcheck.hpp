// Public finite-difference gradient checker: use it on your own ops and layers.
//
//   std::vector<Variable> wrt = {x, layer.weight, layer.bias};
//   GradCheckResult r = check_gradients([&] { return my_layer(x); }, wrt);
//   REQUIRE(r.ok);  // r.report() says where the worst mismatch is
//
// The checker projects the output onto fixed random weights w (L = sum w * y),
// runs one backward pass for the analytic gradient of L, and perturbs every
// element of every variable in `wrt` by +-h for the central difference
// (L(x+h) - L(x-h)) / 2h. `fn` must be deterministic: re-seed any dropout Rng
// inside it.
//
// Then it checks that backward accumulates: a second backward pass of L, with
// the first pass's gradients still in place, must leave exactly twice the
// gradient. An op whose backward assigns (`=`) where it must add (`+=`) passes
// the finite differences whenever its input is used once, and fails here.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "framework/autograd.hpp"

namespace xseq {

struct GradCheckOptions {
  /// Central-difference step, relative to max(1, |x|).
  ///
  /// Why these defaults (xseq computes in float32): one forward pass rounds L
  /// with a relative error of a few ulp (u = 6e-8) per element, so for outputs of
  /// ~100-1000 elements |dL| ~ 1e-6 and the difference quotient carries
  /// ~dL/h ~ 1e-4 of noise at h = 1e-2; the truncation error h^2/6 * L''' is
  /// ~2e-5 for O(1) curvature. A wrong gradient (missing term, wrong index,
  /// transposed operand) is off by O(|g|), i.e. 10-1000x more than the
  /// tolerance below; see docs/gradcheck.md.
  float step = 1e-2f;
  float atol = 2e-3f;  ///< pass if |analytic - numeric| <= atol + rtol * |numeric|
  float rtol = 1e-2f;
  std::uint64_t seed = 1234;  ///< for the projection weights w
  /// Check at most this many elements per variable (spread evenly); 0 = all.
  std::int64_t max_elements = 0;
  /// Forgive a mismatch at a kink within the step (relu at 0, a tie in max):
  /// the analytic gradient equals the one-sided difference on one side of the
  /// element and not on the other. Such elements are counted in `kinks`, not
  /// compared. Off by default: a smooth test should not need it.
  bool allow_kinks = false;
  /// Run backward a second time without zeroing and require twice the gradient.
  bool check_accumulation = true;
  /// The second pass passes if |g2 - 2 g1| <= accumulation_tol * max(1, |2 g1|)
  /// per variable: adding into a non-zero buffer may round differently (BLAS
  /// with beta = 1, fused multiply-adds), and an assigning backward is off by |g1|.
  float accumulation_tol = 1e-5f;
};

/// What the check found for one variable of `wrt`.
struct GradCheckInput {
  std::int64_t checked = 0;        ///< elements compared with finite differences
  std::int64_t kinks = 0;          ///< elements skipped at a kink (options.allow_kinks)
  double worst_ratio = 0.0;        ///< as GradCheckResult::worst_ratio, for this variable
  double max_abs_error = 0.0;      ///< max |analytic - numeric|
  double relative_error = 0.0;     ///< |a - n| / max(|a|, |n|) at this variable's worst element
  /// max |g2 - 2 g1| after two backward passes (0 when not checked).
  double accumulation_deviation = 0.0;
  bool accumulates = true;
  bool ok() const { return worst_ratio <= 1.0 && accumulates; }
};

struct GradCheckResult {
  bool ok = true;
  double worst_ratio = 0.0;  ///< max over elements of |a - n| / (atol + rtol * |n|); ok iff <= 1
  int worst_input = -1;      ///< index into wrt
  std::int64_t worst_element = -1;
  double analytic = 0.0, numeric = 0.0;
  /// |analytic - numeric| / max(|analytic|, |numeric|) at the worst element.
  double relative_error() const;
  std::int64_t checked = 0;  ///< elements compared
  std::int64_t kinks = 0;    ///< elements skipped at a kink (options.allow_kinks)
  /// The accumulation check: false when a second backward pass did not double
  /// some gradient. `ok` is false then too.
  bool accumulates = true;
  int accumulation_input = -1;          ///< the worst variable of that check (index into wrt)
  double accumulation_deviation = 0.0;  ///< its max |g2 - 2 g1|
  std::vector<GradCheckInput> inputs;   ///< one per variable of wrt, in order
  std::string report() const;
};

/// Compares the gradients of `fn()` with respect to each variable in `wrt`
/// (leaf variables; requires_grad is switched on for the check) with central
/// finite differences. Gradients already stored in `wrt` are left untouched.
GradCheckResult check_gradients(const std::function<Variable()>& fn, const std::vector<Variable>& wrt,
                                const GradCheckOptions& options = {});

}  // namespace xseq
