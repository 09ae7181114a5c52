#include "framework/ema.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "framework/h5.hpp"
#include "framework/parallel.hpp"

namespace xseq {

ExponentialMovingAverage::ExponentialMovingAverage(std::vector<NamedParameter> params, double decay)
    : params_(std::move(params)), decay_(decay) {
  XSEQ_CHECK(decay > 0.0 && decay < 1.0, "exponential moving average: decay must be in (0, 1), got ", decay);
  for (const auto& p : params_) averages_.push_back(p.variable.value().clone());
}

void ExponentialMovingAverage::update() {
  ++updates_;
  const float d = float(std::min(decay_, (1.0 + double(updates_)) / (10.0 + double(updates_))));
  const float keep = 1.0f - d;
  for (std::size_t k = 0; k < params_.size(); ++k) {
    float* a = averages_[k].data();
    const float* w = params_[k].variable.value().data();
    const std::int64_t n = averages_[k].numel();
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
    for (std::int64_t i = 0; i < n; ++i) a[i] = d * a[i] + keep * w[i];
  }
}

void ExponentialMovingAverage::swap() {
  for (std::size_t k = 0; k < params_.size(); ++k) {
    float* a = averages_[k].data();
    float* w = params_[k].variable.mutable_value().data();
    const std::int64_t n = averages_[k].numel();
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
    for (std::int64_t i = 0; i < n; ++i) std::swap(a[i], w[i]);
  }
}

std::vector<NamedParameter> ExponentialMovingAverage::averages() const {
  std::vector<NamedParameter> out;
  for (std::size_t k = 0; k < params_.size(); ++k) out.push_back({params_[k].name, Variable(averages_[k])});
  return out;
}

void ExponentialMovingAverage::load(const H5File& file, const std::string& group, std::int64_t updates) {
  for (std::size_t k = 0; k < params_.size(); ++k) {
    const std::string path = group + "/" + dotted_to_h5_path(params_[k].name);
    XSEQ_CHECK(file.has(path), "checkpoint '", file.path(), "' has no moving average '", path,
               "' (was it saved without train.ema_decay?)");
    Tensor value = file.read(path);
    XSEQ_CHECK(value.shape() == averages_[k].shape(), "checkpoint '", file.path(), "': moving average '", path,
               "' has shape ", value.shape(), " but the parameter's is ", averages_[k].shape());
    const float* v = value.data();
    for (std::int64_t i = 0; i < value.numel(); ++i)
      XSEQ_CHECK(std::isfinite(v[i]), "checkpoint '", file.path(), "': moving average '", path, "' holds ", v[i],
                 " at flat index ", i, "; refusing to resume from non-finite weights");
    averages_[k] = value;
  }
  updates_ = updates;
}

}  // namespace xseq
