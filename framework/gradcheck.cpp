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

  // Numeric gradient, element by element.
  GradCheckResult result;
  {
    NoGradGuard no_grad;
    for (std::size_t k = 0; k < vars.size(); ++k) {
      Tensor& x = vars[k].mutable_value();
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
        const double a = analytic[k].data()[i];
        const double ratio = std::fabs(a - numeric) / (options.atol + options.rtol * std::fabs(numeric));
        ++result.checked;
        if (result.worst_input < 0 || !(ratio <= result.worst_ratio)) {  // NaN counts as worst
          result.worst_ratio = std::isnan(ratio) ? INFINITY : ratio;
          result.worst_input = int(k);
          result.worst_element = i;
          result.analytic = a;
          result.numeric = numeric;
        }
      }
    }
  }
  result.ok = result.worst_ratio <= 1.0;
  return result;
}

}  // namespace xseq
