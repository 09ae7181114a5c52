// A thread-safe name -> factory table, shared by the layer registry
// (config-file layers) and the model registry (model.type).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "framework/error.hpp"

namespace xseq {

template <class Factory>
class NamedRegistry {
 public:
  /// `what` names the kind in errors ("layer", "model type").
  NamedRegistry(const char* what, std::map<std::string, Factory> builtins)
      : what_(what), factories_(std::move(builtins)) {
    for (const auto& entry : factories_) builtin_names_.push_back(entry.first);
  }

  void add(const std::string& name, Factory factory) {
    std::lock_guard<std::mutex> lock(mutex_);
    XSEQ_CHECK(!name.empty() && factory, "registering a ", what_, " needs a name and a factory");
    XSEQ_CHECK(factories_.count(name) == 0, "a ", what_, " named '", name, "' is already registered");
    factories_[name] = std::move(factory);
  }

  /// The factory for `name`; an unknown name is an error listing the known ones.
  Factory find(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = factories_.find(name);
    if (it != factories_.end()) return it->second;
    std::string known;
    for (const auto& entry : factories_) known += (known.empty() ? "" : ", ") + entry.first;
    XSEQ_CHECK(false, "unknown ", what_, " '", name, "' (registered: ", known, ")");
    return Factory();
  }

  /// The names given at construction (what xseq itself ships), sorted.
  const std::vector<std::string>& builtin_names() const { return builtin_names_; }

  std::vector<std::string> names() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    for (const auto& entry : factories_) out.push_back(entry.first);
    return out;
  }

 private:
  const char* what_;
  mutable std::mutex mutex_;
  std::map<std::string, Factory> factories_;
  std::vector<std::string> builtin_names_;
};

}  // namespace xseq
