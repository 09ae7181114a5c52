// A thread-safe name -> factory table, shared by the layer registry
// (config-file layers) and the model registry (model.type).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "framework/error.hpp"
#include "framework/plugin.hpp"

namespace xseq {

template <class Factory>
class NamedRegistry {
 public:
  /// `what` names the kind in errors ("layer", "model type").
  NamedRegistry(const char* what, std::map<std::string, Factory> builtins)
      : what_(what), factories_(std::move(builtins)) {
    for (const auto& entry : factories_) {
      builtin_names_.push_back(entry.first);
      detail::note_registered(what_, entry.first);
    }
  }

  /// Registers `name`. While a plugin loads (framework/plugin.hpp) the
  /// registration waits until the whole plugin has loaded, and a problem refuses
  /// the plugin instead of throwing from its static initialiser.
  void add(const std::string& name, Factory factory) {
    if (detail::plugin_loading()) {
      auto shared = std::make_shared<Factory>(std::move(factory));
      detail::stage_registration(
          what_, name, [this, name, shared] { return problem(name, *shared); },
          [this, name, shared] { add_now(name, *shared); });
      return;
    }
    add_now(name, std::move(factory));
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
  // What is wrong with registering `name` ("" if nothing).
  std::string problem(const std::string& name, const Factory& factory) const {
    if (name.empty() || !factory) return "needs a name and a factory";
    if (name.find_first_of("\t\n\r=") != std::string::npos) return "has a tab, newline or '=' in its name";
    std::lock_guard<std::mutex> lock(mutex_);
    return factories_.count(name) ? "is already registered" : "";
  }

  void add_now(const std::string& name, Factory factory) {
    const std::string why = problem(name, factory);
    XSEQ_CHECK(why.empty(), "registering ", what_, " '", name, "': it ", why);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      factories_[name] = std::move(factory);
    }
    detail::note_registered(what_, name);  // outside the lock: load_plugin locks in the other order
  }

  const char* what_;
  mutable std::mutex mutex_;
  std::map<std::string, Factory> factories_;
  std::vector<std::string> builtin_names_;
};

}  // namespace xseq
