#include "framework/optim.hpp"

#include <omp.h>

#include <cmath>

#include "framework/h5_attributes.hpp"
#include "framework/kernels/vector_kernels.hpp"
#include "framework/ops/kernels.hpp"
#include "framework/parallel.hpp"

namespace xseq {

Optimizer::Optimizer(std::vector<NamedParameter> params) : params_(std::move(params)) {
  XSEQ_CHECK(!params_.empty(), "optimizer: no parameters to optimize");
}

void Optimizer::step(float lr) {
  ++steps_;
  if (slots_.empty()) {
    for (const auto& p : params_) {
      std::vector<Tensor> s;
      for (int k = 0; k < slot_count(); ++k) s.push_back(Tensor::zeros(p.variable.shape()));
      slots_.push_back(std::move(s));
    }
  }
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Variable& p = params_[i].variable;
    if (!p.has_grad()) continue;
    update(p.mutable_value().data(), p.grad().data(), p.numel(), slots_[i], lr);
  }
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.variable.zero_grad();
}

void Optimizer::save_state(H5File& file, const std::string& group) const {
  file.set_attribute(group + ".type", name());
  file.set_attribute(group + ".steps", std::to_string(steps_));
  for (std::size_t i = 0; i < slots_.size(); ++i)
    for (std::size_t k = 0; k < slots_[i].size(); ++k)
      file.write(group + "/slot" + std::to_string(k) + "/" + dotted_to_h5_path(params_[i].name), slots_[i][k]);
}

void Optimizer::load_state(const H5File& file, const std::string& group) {
  const std::string type = file.attribute(group + ".type");
  XSEQ_CHECK(type == name(), "checkpoint '", file.path(), "' holds ", (type.empty() ? "no" : type),
             " optimizer state, but the config asks for ", name());
  steps_ = int_attribute(file, group + ".steps");
  slots_.clear();
  if (steps_ == 0) return;
  for (const auto& p : params_) {
    std::vector<Tensor> s;
    for (int k = 0; k < slot_count(); ++k) {
      Tensor t = file.read(group + "/slot" + std::to_string(k) + "/" + dotted_to_h5_path(p.name));
      XSEQ_CHECK(t.shape() == p.variable.shape(), "checkpoint '", file.path(), "': optimizer state for '", p.name,
                 "' has shape ", t.shape(), ", the parameter ", p.variable.shape());
      const float* v = t.data();
      bool finite = true;
      for (std::int64_t j = 0; j < t.numel(); ++j) finite = finite && std::isfinite(v[j]);
      XSEQ_CHECK(finite, "checkpoint '", file.path(), "': optimizer state slot", k, " of '", p.name,
                 "' holds NaN or infinite values");
      s.push_back(std::move(t));
    }
    slots_.push_back(std::move(s));
  }
}

// ---- SGD ----------------------------------------------------------------------------------
SGD::SGD(std::vector<NamedParameter> params, float momentum, float weight_decay)
    : Optimizer(std::move(params)), momentum_(momentum), weight_decay_(weight_decay) {}

void SGD::update(float* w, const float* g, std::int64_t n, std::vector<Tensor>& slots, float lr) {
  const float mu = momentum_, wd = weight_decay_;
  if (mu > 0.0f) {
    float* v = slots[0].data();
    const bool first = steps_ == 1;  // PyTorch: the first step sets v = g
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      const float d = g[i] + wd * w[i];
      v[i] = first ? d : mu * v[i] + d;
      w[i] -= lr * v[i];
    }
  } else {
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
    for (std::int64_t i = 0; i < n; ++i) w[i] -= lr * (g[i] + wd * w[i]);
  }
}

// ---- Adam / AdamW ---------------------------------------------------------------------------
Adam::Adam(std::vector<NamedParameter> params, Options options) : Optimizer(std::move(params)), options_(options) {}

void Adam::update(float* w, const float* g, std::int64_t n, std::vector<Tensor>& slots, float lr) {
  const float b1 = options_.beta1, b2 = options_.beta2;
  const float c1 = 1.0f - std::pow(b1, float(steps_)), c2 = 1.0f - std::pow(b2, float(steps_));
  const kernels::AdamStep step{b1, b2, options_.eps, options_.weight_decay, lr, lr / c1, 1.0f / std::sqrt(c2),
                               options_.decoupled};
  float* m = slots[0].data();
  float* v = slots[1].data();
  const kernels::VectorKernels& k = kernels::vector_kernels();
  detail::parallel_chunks(n, [&](std::int64_t lo, std::int64_t hi) {
    k.adam(w + lo, g + lo, m + lo, v + lo, hi - lo, step);
  });
}

// ---- schedules, clipping ----------------------------------------------------------------------
float Schedule::at(std::int64_t step) const {
  const double s = double(std::max<std::int64_t>(step, 1)), w = double(warmup_steps);
  if (kind == "noam") {
    XSEQ_CHECK(warmup_steps > 0, "schedule noam needs warmup_steps > 0");
    return float(lr * std::min(s / w, std::sqrt(w / s)));
  }
  if (warmup_steps > 0 && s < w) return float(lr * s / w);
  if (kind == "constant") return lr;
  if (kind == "plateau") return float(lr * plateau_scale);
  if (kind == "cosine") {
    XSEQ_CHECK(total_steps > warmup_steps, "schedule cosine needs total steps (", total_steps,
               ") beyond warmup_steps (", warmup_steps, ")");
    const double progress = std::min(1.0, (s - w) / (double(total_steps) - w));
    return float(lr * 0.5 * (1.0 + std::cos(3.14159265358979323846 * progress)));
  }
  XSEQ_CHECK(false, "unknown schedule '", kind, "' (expected constant, noam, cosine or plateau)");
  return lr;
}

namespace {

// sum g[i]^2 in double precision: per-thread partial sums over static chunks,
// added in thread order, so the result is the same on every run with the same
// thread count.
double sum_of_squares(const float* g, std::int64_t n) {
  const int threads = n > kParallelGrain ? omp_get_max_threads() : 1;
  std::vector<double> partial(static_cast<std::size_t>(threads), 0.0);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const std::int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    double sq = 0.0;
#pragma omp simd reduction(+ : sq)
    for (std::int64_t i = begin; i < end; ++i) sq += double(g[i]) * double(g[i]);
    partial[static_cast<std::size_t>(t)] = sq;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace

double clip_grad_norm(const std::vector<Variable>& params, double max_norm) {
  double total = 0.0;
  for (const auto& p : params)
    if (p.has_grad()) total += sum_of_squares(p.grad().data(), p.numel());
  const double norm = std::sqrt(total);
  if (max_norm > 0.0 && norm > max_norm) {
    const float scale = float(max_norm / (norm + 1e-6));
    for (const auto& p : params) {
      if (!p.has_grad()) continue;
      float* g = p.grad_buffer().data();
      const std::int64_t n = p.numel();
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
      for (std::int64_t i = 0; i < n; ++i) g[i] *= scale;
    }
  }
  return norm;
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<NamedParameter> params,
                                          float momentum, float weight_decay, float beta1, float beta2, float eps) {
  if (name == "sgd") return std::make_unique<SGD>(std::move(params), momentum, weight_decay);
  if (name == "adam" || name == "adamw")
    return std::make_unique<Adam>(std::move(params), Adam::Options{beta1, beta2, eps, weight_decay, name == "adamw"});
  XSEQ_CHECK(false, "unknown optimizer '", name, "' (expected sgd, adam or adamw)");
  return nullptr;
}

}  // namespace xseq
