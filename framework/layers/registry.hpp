// Layers by name: the hook through which a config file uses a layer that
// xseq does not ship. A user writes a SequenceLayer in their own code,
// registers a factory under a name, and the config refers to that name
// (docs/custom_layers.md; examples/custom_layer/ is a complete project).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "framework/layers/attention.hpp"

namespace xseq {

/// A layer that maps a padded batch (B, T, dim) to (B, T, dim), given each
/// sequence's length. The models can insert any number of them (e.g. after the
/// encoder), so a registered layer slots into a config-built model.
class SequenceLayer : public Module {
 public:
  virtual Variable forward(const Variable& x, const Lengths& lengths) = 0;

  /// How output t depends on the inputs along time; it decides where the layer
  /// may go ([[model.decoder_extra]] needs causal or position_wise, because the
  /// decoder produces one step at a time):
  ///   bidirectional  any input (self-attention): encoder only; the default
  ///   causal         inputs 0..t only: decoding re-runs it on the prefix each step
  ///   position_wise  input t only (feed-forward, highway, GLU): decoding runs it on the new step
  /// `xseq gradcheck --layer NAME` checks the claim numerically.
  enum class TimeMixing { bidirectional, causal, position_wise };
  virtual TimeMixing time_mixing() const { return TimeMixing::bidirectional; }
};

const char* time_mixing_name(SequenceLayer::TimeMixing mixing);

/// One option of a layer from the config: a number, a boolean or a string
/// (`heads = 2`, `norm_first = false`, `activation = "gelu"`).
class LayerOption {
 public:
  enum class Kind { number, boolean, string };
  LayerOption() = default;
  LayerOption(double v) : number_(v) {}  // NOLINT: implicit, so options["k"] = 0.5 reads naturally
  template <class T, class = std::enable_if_t<std::is_integral<T>::value && !std::is_same<T, bool>::value>>
  LayerOption(T v) : number_(double(v)) {}  // NOLINT
  LayerOption(bool v) : kind_(Kind::boolean), boolean_(v) {}                   // NOLINT
  LayerOption(std::string v) : kind_(Kind::string), text_(std::move(v)) {}     // NOLINT
  LayerOption(const char* v) : kind_(Kind::string), text_(v) {}               // NOLINT

  Kind kind() const { return kind_; }
  double number() const { return number_; }
  bool boolean() const { return boolean_; }
  const std::string& text() const { return text_; }
  bool operator==(const LayerOption& o) const {
    return kind_ == o.kind_ && number_ == o.number_ && boolean_ == o.boolean_ && text_ == o.text_;
  }
  bool operator!=(const LayerOption& o) const { return !(*this == o); }

 private:
  Kind kind_ = Kind::number;
  double number_ = 0.0;
  bool boolean_ = false;
  std::string text_;
};

/// Typed, strict options from a config table: a layer's own keys
/// ([[model.encoder_extra]]) or a model type's ([model.options]).
///
/// Options are strict: make_layer / make_model record every key the factory asks
/// for (through any getter below, present or not) and, once the factory has
/// returned, refuse a config key it never asked for, naming the closest key it
/// did ask for ("did you mean"). So read every option through these getters,
/// including ones you only use conditionally, and never iterate `options`.
/// A getter's type mismatch and a missing required option are errors naming
/// `subject` and the key.
struct OptionTable {
  std::map<std::string, LayerOption> options;
  /// Who reads them, for errors: "layer 'highway'", "model type 'x' ([model.options])".
  std::string subject = "options";

  /// A number option, or `fallback` when absent. A boolean reads as 1 or 0.
  double get(const std::string& key, double fallback) const;
  /// A whole-number option (an error for 2.5).
  std::int64_t get_int(const std::string& key, std::int64_t fallback) const;
  /// A boolean option; the numbers 1 and 0 are accepted too (older checkpoints stored booleans so).
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  /// The same, for an option the config must give ("missing required option ...").
  double require_number(const std::string& key) const;
  std::int64_t require_int(const std::string& key) const;
  bool require_bool(const std::string& key) const;
  std::string require_string(const std::string& key) const;
  /// Whether the config gives `key` (counts as reading it).
  bool has(const std::string& key) const;

  /// Keys read so far (shared by copies; set up by start_tracking).
  mutable std::shared_ptr<std::set<std::string>> read_keys;
  /// Starts recording the keys read; check_all_read then refuses the others.
  void start_tracking() const { read_keys = std::make_shared<std::set<std::string>>(); }
  void check_all_read() const;

 private:
  const LayerOption* find(const std::string& key, const char* wanted, bool required) const;
};

/// What a layer factory receives: the layer type, the model width, the model's
/// dropout and the layer's own options from the config (OptionTable's getters).
struct LayerArgs : OptionTable {
  std::string type;
  std::int64_t dim = 0;
  float dropout = 0.0f;  ///< the model's dropout rate (model.dropout)
};

using LayerFactory = std::function<std::shared_ptr<SequenceLayer>(const LayerArgs& args, Rng& rng)>;

/// Registers `factory` under `name` (an error if the name is taken). Returns
/// true so it can initialise a static: see XSEQ_REGISTER_LAYER.
bool register_layer(const std::string& name, LayerFactory factory);
/// Builds a registered layer; an unknown type is an error listing the known ones,
/// and so is an option the factory did not read (with the closest key it read).
std::shared_ptr<SequenceLayer> make_layer(const LayerArgs& args, Rng& rng);
/// Every registered name, sorted.
std::vector<std::string> registered_layers();
/// Whether `name` is registered.
bool is_registered_layer(const std::string& name);
/// An error listing the registered names unless `name` is one; `where` starts
/// the message (a config's file:line).
void check_layer_type(const std::string& name, const std::string& where);

}  // namespace xseq

/// Registers a factory at start-up from any .cpp of the program (not a static
/// library: an unreferenced object file in an archive is not linked):
///   XSEQ_REGISTER_LAYER(highway, [](const xseq::LayerArgs& a, xseq::Rng& rng) { ... });
#define XSEQ_REGISTER_LAYER(name, factory) \
  static const bool xseq_layer_registered_##name = ::xseq::register_layer(#name, factory)
