// Layers by name: the hook through which a config file uses a layer that
// xseq does not ship. A user writes a SequenceLayer in their own code,
// registers a factory under a name, and the config refers to that name
// (docs/custom_layers.md; examples/custom_layer/ is a complete project).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "framework/layers/attention.hpp"

namespace xseq {

/// A layer that maps a padded batch (B, T, dim) to (B, T, dim), given each
/// sequence's length. The models can insert any number of them (e.g. after the
/// encoder), so a registered layer slots into a config-built model.
class SequenceLayer : public Module {
 public:
  virtual Variable forward(const Variable& x, const Lengths& lengths) = 0;
};

/// What a factory receives: the model width, the model's dropout and the
/// layer's own options from the config (numbers; a missing one takes the
/// factory's default via get()).
struct LayerArgs {
  std::string type;
  std::int64_t dim = 0;
  float dropout = 0.0f;
  std::map<std::string, double> options;
  /// options[key], or `fallback` when absent.
  double get(const std::string& key, double fallback) const;
};

using LayerFactory = std::function<std::shared_ptr<SequenceLayer>(const LayerArgs& args, Rng& rng)>;

/// Registers `factory` under `name` (an error if the name is taken). Returns
/// true so it can initialise a static: see XSEQ_REGISTER_LAYER.
bool register_layer(const std::string& name, LayerFactory factory);
/// Builds a registered layer; an unknown type is an error listing the known ones.
std::shared_ptr<SequenceLayer> make_layer(const LayerArgs& args, Rng& rng);
/// Every registered name, sorted.
std::vector<std::string> registered_layers();

}  // namespace xseq

/// Registers a factory at start-up from any .cpp of the program (not a static
/// library: an unreferenced object file in an archive is not linked):
///   XSEQ_REGISTER_LAYER(highway, [](const xseq::LayerArgs& a, xseq::Rng& rng) { ... });
#define XSEQ_REGISTER_LAYER(name, factory) \
  static const bool xseq_layer_registered_##name = ::xseq::register_layer(#name, factory)
