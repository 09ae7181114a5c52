// Module: the base of every layer. A module owns parameters and submodules
// under hierarchical names ("decoder.layers.1.cross_attn.q.weight"); those
// names are the contract for checkpoints (they are the HDF5 dataset paths), so
// they are stable and documented in docs/layers.md.
//
// A layer is a Module subclass that registers its parameters and children in
// its constructor and composes framework ops in its forward methods:
//
//   class Highway : public xseq::Module {
//    public:
//     Highway(int64_t dim, xseq::Rng& rng)
//         : transform_(register_module("transform", std::make_shared<xseq::Dense>(dim, dim, rng))) {}
//     ...
//   };
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "framework/autograd.hpp"
#include "framework/random.hpp"

namespace xseq {

struct NamedParameter {
  std::string name;
  Variable variable;
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// Every parameter, depth first in registration order: own parameters, then
  /// each child's under "child." (the same order on every run).
  std::vector<NamedParameter> named_parameters() const;
  std::vector<Variable> parameters() const;
  std::int64_t parameter_count() const;
  /// The parameter with this hierarchical name; the error lists close names.
  Variable parameter(const std::string& name) const;
  /// Copies `value` into the named parameter (shapes must match exactly).
  void set_parameter(const std::string& name, const Tensor& value);

  /// Training mode (dropout active) for this module and all descendants.
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }
  /// Drops every parameter's gradient.
  void zero_grad();

  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

  /// Every random generator the module tree owns (dropout masks), by
  /// hierarchical name: checkpoints save their states for an exact resume.
  std::vector<std::pair<std::string, Rng*>> named_rngs();

 protected:
  /// Registers a trainable parameter; `name` is one path component ("weight").
  Variable register_parameter(const std::string& name, Tensor value);
  /// Registers a generator owned by this module (it must outlive the module's use).
  void register_rng(const std::string& name, Rng* rng);
  /// Registers a child; `name` may be dotted ("layers.0") to group children.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name, bool dotted_ok) const;
  void collect(const std::string& prefix, std::vector<NamedParameter>& out) const;
  void collect_rngs(const std::string& prefix, std::vector<std::pair<std::string, Rng*>>& out);

  std::vector<NamedParameter> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::vector<std::pair<std::string, Rng*>> rngs_;
  bool training_ = true;
};

// ---- initialisers: every draw comes from the given Rng, so one seed gives
// the same weights on every machine and thread count -------------------------
namespace init {
/// U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010).
void xavier_uniform(Tensor& w, std::int64_t fan_in, std::int64_t fan_out, Rng& rng, float gain = 1.0f);
/// N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out)).
void xavier_normal(Tensor& w, std::int64_t fan_in, std::int64_t fan_out, Rng& rng, float gain = 1.0f);
/// N(mean, std^2).
void normal(Tensor& w, float mean, float std, Rng& rng);
/// N(0, (scale / sqrt(fan_in))^2): the "scaled normal" of embedding and output layers.
void scaled_normal(Tensor& w, std::int64_t fan_in, Rng& rng, float scale = 1.0f);
/// U(lo, hi) (PyTorch's recurrent and bias initialisation uses +-1/sqrt(hidden)).
void uniform(Tensor& w, float lo, float hi, Rng& rng);
inline void zeros(Tensor& w) { w.fill(0.0f); }
inline void ones(Tensor& w) { w.fill(1.0f); }
}  // namespace init

}  // namespace xseq
