#include "framework/layers/registry.hpp"

#include <algorithm>
#include <cmath>

#include "framework/layers/transformer.hpp"
#include "framework/named_registry.hpp"
#include "framework/spelling.hpp"

namespace xseq {
namespace {

// Built-in layers are registered here rather than by static initialisers, so
// they exist even when the linker drops unreferenced objects of libxseq.a.
NamedRegistry<LayerFactory>& layers() {
  static NamedRegistry<LayerFactory> registry(
      "layer type", {{"transformer_encoder_layer", [](const LayerArgs& a, Rng& rng) -> std::shared_ptr<SequenceLayer> {
                        TransformerLayerOptions o;
                        o.heads = a.get_int("heads", 4);
                        o.ff_dim = a.get_int("ff_dim", 4 * a.dim);
                        o.dropout = a.dropout;
                        o.norm_first = a.get_bool("norm_first", true);
                        o.activation = parse_activation(a.get_string("activation", "relu"));
                        return std::make_shared<TransformerEncoderLayer>(a.dim, rng, o);
                      }}});
  return registry;
}

const char* kind_name(LayerOption::Kind kind) {
  return kind == LayerOption::Kind::number ? "a number" : kind == LayerOption::Kind::boolean ? "a boolean" : "a string";
}

}  // namespace

const LayerOption* OptionTable::find(const std::string& key, const char* wanted, bool required) const {
  if (read_keys) read_keys->insert(key);
  const auto it = options.find(key);
  if (it == options.end()) {
    if (!required) return nullptr;
    std::string hint;
    for (const auto& entry : options)
      if (spelling_distance(entry.first, key) <= 2) hint = "; the config has '" + entry.first + "': a misspelling?";
    XSEQ_CHECK(false, subject, ": missing required option '", key, "' (", wanted, hint, ")");
  }
  return &it->second;
}

double OptionTable::get(const std::string& key, double fallback) const {
  const LayerOption* o = find(key, "a number", false);
  if (!o) return fallback;
  if (o->kind() == LayerOption::Kind::boolean) return o->boolean() ? 1.0 : 0.0;
  XSEQ_CHECK(o->kind() == LayerOption::Kind::number, subject, ": option '", key,
             "' must be a number, got ", kind_name(o->kind()), " \"", o->text(), "\"");
  return o->number();
}

std::int64_t OptionTable::get_int(const std::string& key, std::int64_t fallback) const {
  if (!has(key)) return fallback;
  const double v = get(key, 0.0);
  XSEQ_CHECK(v == std::trunc(v) && std::fabs(v) < 9e15, subject, ": option '", key,
             "' must be a whole number, got ", v);
  return static_cast<std::int64_t>(v);
}

bool OptionTable::get_bool(const std::string& key, bool fallback) const {
  const LayerOption* o = find(key, "a boolean", false);
  if (!o) return fallback;
  if (o->kind() == LayerOption::Kind::boolean) return o->boolean();
  XSEQ_CHECK(o->kind() == LayerOption::Kind::number && (o->number() == 0.0 || o->number() == 1.0), subject,
             ": option '", key, "' must be true or false, got ",
             o->kind() == LayerOption::Kind::number ? detail::concat(o->number()) : "\"" + o->text() + "\"");
  return o->number() != 0.0;
}

std::string OptionTable::get_string(const std::string& key, const std::string& fallback) const {
  const LayerOption* o = find(key, "a string", false);
  if (!o) return fallback;
  XSEQ_CHECK(o->kind() == LayerOption::Kind::string, subject, ": option '", key,
             "' must be a string, got ", kind_name(o->kind()));
  return o->text();
}

double OptionTable::require_number(const std::string& key) const {
  find(key, "a number", true);
  return get(key, 0.0);
}

std::int64_t OptionTable::require_int(const std::string& key) const {
  find(key, "a whole number", true);
  return get_int(key, 0);
}

bool OptionTable::require_bool(const std::string& key) const {
  find(key, "true or false", true);
  return get_bool(key, false);
}

std::string OptionTable::require_string(const std::string& key) const {
  find(key, "a string", true);
  return get_string(key, "");
}

bool OptionTable::has(const std::string& key) const { return find(key, "", false) != nullptr; }

bool register_layer(const std::string& name, LayerFactory factory) {
  layers().add(name, std::move(factory));
  return true;
}

std::vector<std::string> registered_layers() { return layers().names(); }

bool is_registered_layer(const std::string& name) {
  const auto names = registered_layers();
  return std::find(names.begin(), names.end(), name) != names.end();
}

void check_layer_type(const std::string& name, const std::string& where) {
  if (is_registered_layer(name)) return;
  std::string known;
  for (const auto& n : registered_layers()) known += (known.empty() ? "" : ", ") + n;
  XSEQ_CHECK(false, where, ": unknown layer type '", name, "' (registered: ", known, ")");
}

const char* time_mixing_name(SequenceLayer::TimeMixing mixing) {
  switch (mixing) {
    case SequenceLayer::TimeMixing::causal: return "causal";
    case SequenceLayer::TimeMixing::position_wise: return "position_wise";
    default: return "bidirectional";
  }
}

void OptionTable::check_all_read() const {
  XSEQ_CHECK(read_keys != nullptr, subject, ": check_all_read without start_tracking");
  for (const auto& entry : options) {
    if (read_keys->count(entry.first)) continue;
    std::string best;
    std::size_t best_d = std::string::npos;
    for (const auto& key : *read_keys) {
      const std::size_t d = spelling_distance(entry.first, key);
      if (d < best_d) best_d = d, best = key;
    }
    XSEQ_CHECK(false, subject, ": unknown option '", entry.first, "' (",
               best.empty() ? std::string("it reads no options") : "did you mean '" + best + "'?", ")");
  }
}

std::shared_ptr<SequenceLayer> make_layer(const LayerArgs& args, Rng& rng) {
  const LayerFactory factory = layers().find(args.type);
  XSEQ_CHECK(args.dim > 0, "layer '", args.type, "': dim must be positive, got ", args.dim);
  LayerArgs tracked = args;
  tracked.subject = "layer '" + args.type + "'";
  tracked.start_tracking();
  auto layer = factory(tracked, rng);
  XSEQ_CHECK(layer != nullptr, "layer '", args.type, "': its factory returned nothing");
  tracked.check_all_read();
  return layer;
}

}  // namespace xseq
