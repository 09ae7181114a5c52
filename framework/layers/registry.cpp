#include "framework/layers/registry.hpp"

#include <mutex>

#include "framework/layers/transformer.hpp"

namespace xseq {
namespace {

std::map<std::string, LayerFactory>& factories() {
  // Built-in layers are registered here rather than by static initialisers, so
  // they exist even when the linker drops unreferenced objects of libxseq.a.
  static std::map<std::string, LayerFactory> map = [] {
    std::map<std::string, LayerFactory> m;
    m["transformer_encoder_layer"] = [](const LayerArgs& a, Rng& rng) -> std::shared_ptr<SequenceLayer> {
      TransformerLayerOptions o;
      o.heads = static_cast<std::int64_t>(a.get("heads", 4));
      o.ff_dim = static_cast<std::int64_t>(a.get("ff_dim", 4.0 * double(a.dim)));
      o.dropout = a.dropout;
      o.norm_first = a.get("norm_first", 1) != 0;
      return std::make_shared<TransformerEncoderLayer>(a.dim, rng, o);
    };
    return m;
  }();
  return map;
}

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

double LayerArgs::get(const std::string& key, double fallback) const {
  const auto it = options.find(key);
  return it == options.end() ? fallback : it->second;
}

bool register_layer(const std::string& name, LayerFactory factory) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  XSEQ_CHECK(!name.empty() && factory, "register_layer: a layer needs a name and a factory");
  XSEQ_CHECK(factories().count(name) == 0, "register_layer: a layer named '", name, "' is already registered");
  factories()[name] = std::move(factory);
  return true;
}

std::vector<std::string> registered_layers() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::vector<std::string> names;
  for (const auto& entry : factories()) names.push_back(entry.first);
  return names;
}

std::shared_ptr<SequenceLayer> make_layer(const LayerArgs& args, Rng& rng) {
  LayerFactory factory;
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    const auto it = factories().find(args.type);
    if (it != factories().end()) factory = it->second;
  }
  if (!factory) {
    std::string known;
    for (const auto& name : registered_layers()) known += (known.empty() ? "" : ", ") + name;
    XSEQ_CHECK(false, "unknown layer type '", args.type, "' (registered: ", known, ")");
  }
  XSEQ_CHECK(args.dim > 0, "layer '", args.type, "': dim must be positive, got ", args.dim);
  auto layer = factory(args, rng);
  XSEQ_CHECK(layer != nullptr, "layer '", args.type, "': its factory returned nothing");
  return layer;
}

}  // namespace xseq
