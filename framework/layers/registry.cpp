#include "framework/layers/registry.hpp"

#include "framework/layers/transformer.hpp"
#include "framework/named_registry.hpp"

namespace xseq {
namespace {

// Built-in layers are registered here rather than by static initialisers, so
// they exist even when the linker drops unreferenced objects of libxseq.a.
NamedRegistry<LayerFactory>& layers() {
  static NamedRegistry<LayerFactory> registry(
      "layer type", {{"transformer_encoder_layer", [](const LayerArgs& a, Rng& rng) -> std::shared_ptr<SequenceLayer> {
                        TransformerLayerOptions o;
                        o.heads = static_cast<std::int64_t>(a.get("heads", 4));
                        o.ff_dim = static_cast<std::int64_t>(a.get("ff_dim", 4.0 * double(a.dim)));
                        o.dropout = a.dropout;
                        o.norm_first = a.get("norm_first", 1) != 0;
                        return std::make_shared<TransformerEncoderLayer>(a.dim, rng, o);
                      }}});
  return registry;
}

}  // namespace

double LayerArgs::get(const std::string& key, double fallback) const {
  const auto it = options.find(key);
  return it == options.end() ? fallback : it->second;
}

bool register_layer(const std::string& name, LayerFactory factory) {
  layers().add(name, std::move(factory));
  return true;
}

std::vector<std::string> registered_layers() { return layers().names(); }

std::shared_ptr<SequenceLayer> make_layer(const LayerArgs& args, Rng& rng) {
  const LayerFactory factory = layers().find(args.type);
  XSEQ_CHECK(args.dim > 0, "layer '", args.type, "': dim must be positive, got ", args.dim);
  auto layer = factory(args, rng);
  XSEQ_CHECK(layer != nullptr, "layer '", args.type, "': its factory returned nothing");
  return layer;
}

}  // namespace xseq
