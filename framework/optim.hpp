// Optimizers (SGD with momentum, Adam, AdamW), learning-rate schedules and
// global-norm gradient clipping. Updates are fused loops over each
// parameter's contiguous buffer; the state saves to and loads from HDF5 so a
// resumed run continues bit for bit.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "framework/h5.hpp"
#include "framework/module.hpp"

namespace xseq {

class Optimizer {
 public:
  explicit Optimizer(std::vector<NamedParameter> params);
  virtual ~Optimizer() = default;
  /// One update from the parameters' accumulated gradients (parameters with
  /// no gradient are skipped), at learning rate `lr`.
  void step(float lr);
  void zero_grad();
  std::int64_t steps() const { return steps_; }
  virtual std::string name() const = 0;

  /// State under `group` ("optimizer"): step count and one tensor per slot and parameter.
  void save_state(H5File& file, const std::string& group) const;
  /// Restores a state saved by the same optimizer type for the same parameters.
  void load_state(const H5File& file, const std::string& group);
  /// Every state tensor (slot k of every parameter), e.g. to check that replicas agree.
  std::vector<const Tensor*> state_tensors() const {
    std::vector<const Tensor*> out;
    for (const auto& per_param : slots_)
      for (const Tensor& t : per_param) out.push_back(&t);
    return out;
  }

 protected:
  /// Updates one parameter; `slots` are its state tensors (zero-initialised).
  virtual void update(float* w, const float* g, std::int64_t n, std::vector<Tensor>& slots, float lr) = 0;
  virtual int slot_count() const = 0;
  std::vector<NamedParameter> params_;
  std::vector<std::vector<Tensor>> slots_;
  std::int64_t steps_ = 0;
};

/// v = momentum * v + g (+ weight_decay * w);  w -= lr * v  (PyTorch's SGD).
class SGD : public Optimizer {
 public:
  SGD(std::vector<NamedParameter> params, float momentum = 0.0f, float weight_decay = 0.0f);
  std::string name() const override { return "sgd"; }

 protected:
  void update(float* w, const float* g, std::int64_t n, std::vector<Tensor>& slots, float lr) override;
  int slot_count() const override { return momentum_ > 0.0f ? 1 : 0; }

 private:
  float momentum_, weight_decay_;
};

/// Adam (Kingma & Ba) with bias correction; decoupled = AdamW (Loshchilov &
/// Hutter): w -= lr * weight_decay * w, separately from the adaptive step.
/// Without decoupling, weight_decay adds weight_decay * w to the gradient.
class Adam : public Optimizer {
 public:
  struct Options {
    float beta1 = 0.9f, beta2 = 0.98f, eps = 1e-9f, weight_decay = 0.0f;
    bool decoupled = false;
  };
  Adam(std::vector<NamedParameter> params, Options options);
  std::string name() const override { return options_.decoupled ? "adamw" : "adam"; }

 protected:
  void update(float* w, const float* g, std::int64_t n, std::vector<Tensor>& slots, float lr) override;
  int slot_count() const override { return 2; }

 private:
  Options options_;
};

/// Learning rate at a 1-based step:
///   constant: lr (after a linear warmup when warmup_steps > 0);
///   noam:     lr * min(step / warmup, sqrt(warmup / step))  (peak lr at the end of warmup,
///             then inverse square root, as Vaswani et al. with lr as the peak);
///   cosine:   linear warmup to lr, then lr * 0.5 * (1 + cos(pi * progress)) to 0 at total_steps;
///   plateau:  linear warmup to lr, then lr * plateau_scale (the trainer lowers the scale
///             when validation stops improving).
struct Schedule {
  std::string kind = "constant";
  float lr = 1e-3f;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 0;  ///< cosine only
  double plateau_scale = 1.0;    ///< plateau only
  float at(std::int64_t step) const;
};

/// Scales every gradient so their global L2 norm is at most max_norm (when
/// max_norm > 0); returns the norm before clipping.
double clip_grad_norm(const std::vector<Variable>& params, double max_norm);

/// "sgd" (momentum), "adam" or "adamw"; an unknown name is an error listing them.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<NamedParameter> params,
                                          float momentum, float weight_decay, float beta1, float beta2, float eps);

}  // namespace xseq
