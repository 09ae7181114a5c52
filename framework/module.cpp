#include "framework/module.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

namespace xseq {
namespace {

bool valid_component(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Names sharing the longest prefix with `name`, for "did you mean" errors.
std::string closest_names(const std::vector<NamedParameter>& all, const std::string& name) {
  std::size_t best = 0;
  for (const auto& p : all) {
    std::size_t n = 0;
    while (n < p.name.size() && n < name.size() && p.name[n] == name[n]) ++n;
    best = std::max(best, n);
  }
  std::ostringstream out;
  int shown = 0;
  for (const auto& p : all) {
    if (p.name.compare(0, best, name, 0, best) == 0 && shown < 8) {
      out << (shown++ ? ", " : "") << p.name;
    }
  }
  return out.str();
}

}  // namespace

void Module::check_new_name(const std::string& name, bool dotted_ok) const {
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string part = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    XSEQ_CHECK(valid_component(part) && (dotted_ok || dot == std::string::npos), "Module: invalid name '",
               name, "' (expected letters, digits and '_'", (dotted_ok ? ", components joined by '.')" : ")"));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const auto& p : params_)
    XSEQ_CHECK(p.name != name, "Module: a parameter named '", name, "' is already registered");
  for (const auto& c : children_)
    XSEQ_CHECK(c.first != name, "Module: a submodule named '", name, "' is already registered");
}

Variable Module::register_parameter(const std::string& name, Tensor value) {
  check_new_name(name, false);
  XSEQ_CHECK(value.defined(), "Module: parameter '", name, "' has no value");
  Variable v(std::move(value), true);
  params_.push_back({name, v});
  return v;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  XSEQ_CHECK(module != nullptr, "Module: submodule '", name, "' is null");
  check_new_name(name, true);
  module->train(training_);
  children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix, std::vector<NamedParameter>& out) const {
  for (const auto& p : params_) out.push_back({prefix + p.name, p.variable});
  for (const auto& c : children_) c.second->collect(prefix + c.first + ".", out);
}

std::vector<NamedParameter> Module::named_parameters() const {
  std::vector<NamedParameter> out;
  collect("", out);
  return out;
}

std::vector<Variable> Module::parameters() const {
  std::vector<Variable> out;
  for (auto& p : named_parameters()) out.push_back(p.variable);
  return out;
}

std::int64_t Module::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& p : named_parameters()) n += p.variable.numel();
  return n;
}

Variable Module::parameter(const std::string& name) const {
  const auto all = named_parameters();
  for (const auto& p : all)
    if (p.name == name) return p.variable;
  XSEQ_CHECK(false, "Module: no parameter named '", name, "'; closest: ", closest_names(all, name));
  return {};
}

void Module::set_parameter(const std::string& name, const Tensor& value) {
  Variable p = parameter(name);
  XSEQ_CHECK(p.shape() == value.shape(), "Module: parameter '", name, "' has shape ", p.shape(),
             ", the given value has shape ", value.shape());
  std::copy(value.data(), value.data() + value.numel(), p.mutable_value().data());
}

void Module::register_rng(const std::string& name, Rng* rng) {
  check_new_name(name, false);
  for (const auto& r : rngs_) XSEQ_CHECK(r.first != name, "Module: a generator named '", name, "' is already registered");
  rngs_.emplace_back(name, rng);
}

void Module::collect_rngs(const std::string& prefix, std::vector<std::pair<std::string, Rng*>>& out) {
  for (auto& r : rngs_) out.emplace_back(prefix + r.first, r.second);
  for (auto& c : children_) c.second->collect_rngs(prefix + c.first + ".", out);
}

std::vector<std::pair<std::string, Rng*>> Module::named_rngs() {
  std::vector<std::pair<std::string, Rng*>> out;
  collect_rngs("", out);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& c : children_) c.second->train(on);
}

void Module::zero_grad() {
  for (auto& p : named_parameters()) p.variable.zero_grad();
}

namespace init {

void uniform(Tensor& w, float lo, float hi, Rng& rng) {
  float* d = w.data();
  for (std::int64_t i = 0; i < w.numel(); ++i) d[i] = rng.uniform(lo, hi);
}

void normal(Tensor& w, float mean, float std, Rng& rng) {
  float* d = w.data();
  for (std::int64_t i = 0; i < w.numel(); ++i) d[i] = mean + std * rng.normal();
}

void xavier_uniform(Tensor& w, std::int64_t fan_in, std::int64_t fan_out, Rng& rng, float gain) {
  const float a = gain * std::sqrt(6.0f / float(fan_in + fan_out));
  uniform(w, -a, a, rng);
}

void xavier_normal(Tensor& w, std::int64_t fan_in, std::int64_t fan_out, Rng& rng, float gain) {
  normal(w, 0.0f, gain * std::sqrt(2.0f / float(fan_in + fan_out)), rng);
}

void scaled_normal(Tensor& w, std::int64_t fan_in, Rng& rng, float scale) {
  normal(w, 0.0f, scale / std::sqrt(float(fan_in)), rng);
}

}  // namespace init
}  // namespace xseq
