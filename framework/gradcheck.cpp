#include "framework/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "framework/random.hpp"

namespace xseq {
namespace {

// L = sum w * y in double, so the projection adds no rounding of its own.
double project(const Tensor& y, const std::vector<float>& w) {
  double total = 0.0;
  const float* p = y.data();
  for (std::size_t i = 0; i < w.size(); ++i) total += double(w[i]) * double(p[i]);
  return total;
}

}  // namespace

double GradCheckResult::relative_error() const {
  const double scale = std::max(std::fabs(analytic), std::fabs(numeric));
  return scale > 0.0 ? std::fabs(analytic - numeric) / scale : 0.0;
}

std::string GradCheckResult::report() const {
  std::ostringstream out;
  out << (ok ? "gradients match" : "GRADIENT MISMATCH") << ": " << checked << " elements checked";
  if (kinks > 0) out << " (" << kinks << " skipped at kinks)";
  if (!accumulates)
    out << "; BACKWARD DOES NOT ACCUMULATE: a second backward pass changed input " << accumulation_input
        << "'s gradient by up to " << accumulation_deviation
        << " from twice the first (a backward closure assigns its gradient instead of adding to it)";
  if (worst_input >= 0)
    out << "; worst at input " << worst_input << " element " << worst_element << ": analytic "
        << analytic << " vs numeric " << numeric << " (relative error " << relative_error()
        << ", error / tolerance = " << worst_ratio << ")";
  return out.str();
}

// Puts the variables back as they were (gradients, requires_grad), also when
// fn throws half-way through the check.
struct RestoreVariables {
  std::vector<Variable> vars;
  std::vector<Tensor> grads;
  std::vector<bool> flags;
  ~RestoreVariables() {
    for (std::size_t k = 0; k < vars.size(); ++k) {
      vars[k].zero_grad();
      if (grads[k].defined()) vars[k].accumulate_grad(grads[k]);
      vars[k].set_requires_grad(flags[k]);
    }
  }
};

namespace {

// Whether a mismatch at element *p is a kink within the step (relu at 0, a max
// tie) rather than a wrong gradient: the analytic gradient matches the one-sided
// difference on one side only, or the central difference at a tenth of the
// step (10x fewer kinks inside; its float32 noise, ~10x larger, still sits
// below atol for outputs of up to ~1000 elements).
bool at_kink(const std::function<Variable()>& fn, float* p, float original, float h, double analytic,
             const std::vector<float>& w, const GradCheckOptions& options) {
  auto matches = [&](double slope) {
    return std::fabs(analytic - slope) <= options.atol + options.rtol * std::fabs(slope);
  };
  auto loss_at = [&](float v, double* taken) {  // L with *p = v; *taken = the float32 offset from original
    *p = v;
    *taken = double(*p) - double(original);
    return project(fn().value(), w);
  };
  double zero = 0.0, up = 0.0, down = 0.0;
  const double l0 = loss_at(original, &zero);
  for (const float scale : {1.0f, 0.1f}) {
    const double l_plus = loss_at(original + h * scale, &up), l_minus = loss_at(original - h * scale, &down);
    const double forward = (l_plus - l0) / up, backward = (l0 - l_minus) / -down;
    if (scale < 1.0f && matches((l_plus - l_minus) / (up - down))) return true;
    if (matches(forward) != matches(backward)) return true;
  }
  return false;
}

// Compares the analytic gradient of variable k with central differences of
// L = sum w * fn(), element by element (fn runs under NoGradGuard).
GradCheckInput numeric_check(const std::function<Variable()>& fn, const Variable& var, const Tensor& analytic,
                             const std::vector<float>& w, const GradCheckOptions& options, int k,
                             GradCheckResult& result) {
  GradCheckInput stats;
  Tensor& x = var.mutable_value();
  const std::int64_t n = x.numel();
  const std::int64_t stride =
      options.max_elements > 0 && n > options.max_elements ? (n + options.max_elements - 1) / options.max_elements : 1;
  for (std::int64_t i = 0; i < n; i += stride) {
    float* p = x.data() + i;
    const float original = *p;
    const float h = options.step * std::max(1.0f, std::fabs(original));
    // Restores the element even if fn throws.
    struct Reset {
      float* p;
      float v;
      ~Reset() { *p = v; }
    } reset{p, original};
    *p = original + h;
    const float up = *p;  // the step actually taken in float32
    const double l_plus = project(fn().value(), w);
    *p = original - h;
    const float down = *p;
    const double l_minus = project(fn().value(), w);
    const double numeric = (l_plus - l_minus) / (double(up) - double(down));
    const double a = analytic.data()[i];
    const double error = std::fabs(a - numeric);
    const double ratio = error / (options.atol + options.rtol * std::fabs(numeric));
    if (!(ratio <= 1.0) && options.allow_kinks) {
      if (at_kink(fn, p, original, h, a, w, options)) {
        ++stats.kinks;
        ++result.kinks;
        continue;
      }
    }
    ++result.checked;
    ++stats.checked;
    stats.max_abs_error = std::isnan(error) ? INFINITY : std::max(stats.max_abs_error, error);
    if (stats.checked == 1 || !(ratio <= stats.worst_ratio)) {  // NaN counts as worst
      stats.worst_ratio = std::isnan(ratio) ? INFINITY : ratio;
      const double scale = std::max(std::fabs(a), std::fabs(numeric));
      stats.relative_error = scale > 0.0 ? error / scale : 0.0;
    }
    if (result.worst_input < 0 || !(ratio <= result.worst_ratio)) {
      result.worst_ratio = std::isnan(ratio) ? INFINITY : ratio;
      result.worst_input = k;
      result.worst_element = i;
      result.analytic = a;
      result.numeric = numeric;
    }
  }
  return stats;
}

// A second backward pass of the same L, with the first pass's gradients left in
// place, must double every gradient: backward closures add, never assign.
void accumulation_check(const std::function<Variable()>& fn, const std::vector<Variable>& vars,
                        const std::vector<Tensor>& analytic, const std::vector<float>& w,
                        const GradCheckOptions& options, GradCheckResult& result) {
  Variable y = fn();
  y.backward(Tensor::from_vector(y.shape(), w));
  double worst = -1.0;
  for (std::size_t k = 0; k < vars.size(); ++k) {
    const Tensor& g1 = analytic[k];
    const float* twice = vars[k].has_grad() ? vars[k].grad().data() : nullptr;
    double deviation = 0.0, scale = 0.0;
    for (std::int64_t i = 0; i < g1.numel(); ++i) {
      const double expected = 2.0 * double(g1.data()[i]);
      const double d = std::fabs((twice ? double(twice[i]) : 0.0) - expected);
      deviation = std::isnan(d) ? INFINITY : std::max(deviation, d);
      scale = std::max(scale, std::fabs(expected));
    }
    GradCheckInput& stats = result.inputs[k];
    stats.accumulation_deviation = deviation;
    // Rounding of O(1) terms (the projection weights are O(1)) is absolute for small gradients.
    stats.accumulates = deviation <= options.accumulation_tol * std::max(1.0, scale);
    // The worst variable: a failing one first, then the largest deviation.
    const double rank = (stats.accumulates ? 0.0 : 1e300) + deviation;
    if (rank > worst) {
      worst = rank;
      result.accumulation_input = int(k);
      result.accumulation_deviation = deviation;
    }
    result.accumulates = result.accumulates && stats.accumulates;
  }
}

}  // namespace

GradCheckResult check_gradients(const std::function<Variable()>& fn, const std::vector<Variable>& wrt,
                                const GradCheckOptions& options) {
  for (const auto& v : wrt)
    XSEQ_CHECK(v.defined() && v.is_leaf(), "check_gradients: every variable in wrt must be a defined leaf");
  RestoreVariables restore;
  std::vector<Variable>& vars = restore.vars;
  for (const auto& v : wrt) {
    vars.push_back(v);
    restore.grads.push_back(v.grad());
    restore.flags.push_back(v.requires_grad());
    v.zero_grad();
    vars.back().set_requires_grad(true);
  }

  // Analytic gradient of L = sum w * y.
  Variable y = fn();
  XSEQ_CHECK(y.defined(), "check_gradients: fn returned an undefined variable");
  std::vector<float> w(static_cast<std::size_t>(y.numel()));
  Rng rng(options.seed);
  for (auto& wi : w) wi = rng.normal();
  for (std::size_t i = 0; i < w.size(); ++i)
    XSEQ_CHECK(std::isfinite(y.value().data()[i]), "check_gradients: fn's output element ", i,
               " is not finite (", y.value().data()[i], "); mask such positions out of the checked output");
  y.backward(Tensor::from_vector(y.shape(), w));
  std::vector<Tensor> analytic;
  for (auto& v : vars) analytic.push_back(v.has_grad() ? v.grad().clone() : Tensor::zeros(v.shape()));

  GradCheckResult result;
  {
    NoGradGuard no_grad;
    for (std::size_t k = 0; k < vars.size(); ++k)
      result.inputs.push_back(numeric_check(fn, vars[k], analytic[k], w, options, int(k), result));
  }
  // The first pass's gradients are still in vars (the numeric pass records nothing).
  if (options.check_accumulation) accumulation_check(fn, vars, analytic, w, options, result);
  result.ok = result.worst_ratio <= 1.0 && result.accumulates;
  return result;
}

}  // namespace xseq
