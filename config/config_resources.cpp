// The memory a config's model needs for training, estimated before anything is
// allocated, so that an impossible size is a clear error naming the keys.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "framework/error.hpp"
#include "framework/memory.hpp"
#include "config/config.hpp"

namespace xseq {
namespace {

// What the memory estimate assumes when the config does not say.
constexpr std::int64_t kAssumedVocab = 1000, kAssumedLength = 100;

// Parameter counts from the shapes in models/*.cpp (layer norms and biases included).
double transformer_parameters(const ModelConfig& m, double vocab) {
  const double D = double(m.d_model), F = double(m.ff_dim);
  const double attention = 4 * (D * D + D), feed_forward = 2 * D * F + F + D;
  double n = double(m.encoder_layers) * (attention + feed_forward + 4 * D) +
             double(m.decoder_layers) * (2 * attention + feed_forward + 6 * D);
  n += vocab * D * (m.share_embeddings ? 1 : 2);
  if (m.positions == "learned") n += 2 * double(m.max_positions) * D;
  if (m.norm_first) n += 4 * D;
  if (!m.tie_output) n += D * vocab + vocab;
  return n;
}

double rnn_parameters(const ModelConfig& m, double vocab) {
  const double H = double(m.hidden), E = double(m.embed_dim), gates = m.cell == "lstm" ? 4 : 3;
  const double dirs = m.bidirectional ? 2 : 1;
  auto layer = [&](double in) { return gates * H * (in + H) + 2 * gates * H; };
  double n = 2 * vocab * E;
  n += dirs * (layer(E) + double(m.encoder_layers - 1) * layer(dirs * H));
  n += layer(E + (m.input_feeding ? H : 0)) + double(m.decoder_layers - 1) * layer(H);
  n += (m.bidirectional ? dirs * H * H : 0) + dirs * H * H + H;  // encoder_proj, bridge
  // The decoder attention's own weights (framework/layers/attention.cpp), then combine.
  if (m.attention == "seed") n += 2 * (H * H + H);
  else if (m.attention == "general") n += H * H;
  else if (m.attention == "concat") n += 2 * H * H + H;
  else if (m.attention == "additive") n += 2 * H * H + 2 * H;
  if (m.attention != "seed") n += 2 * H * H;
  return n + H * vocab + vocab;
}

// Floats the forward pass keeps for backward, per token of one side, for the
// longest sentences (`length` tokens): a rough lower bound.
double activation_floats_per_token(const ModelConfig& m, double vocab, double length) {
  const double layers_e = double(m.encoder_layers), layers_d = double(m.decoder_layers), V3 = 3 * vocab;
  if (m.type == "transformer") {
    // Attention keeps its weights (heads x length per token) only for short
    // sequences; from 16 tokens the tiled kernel keeps one logsumexp per head
    // (framework/ops/flash_attention.cpp, kTiledMinKeys).
    const double D = double(m.d_model), F = double(m.ff_dim), scores = double(m.heads) * (length < 16 ? length : 1.0);
    return layers_e * (12 * D + 3 * F + 2 * scores) + layers_d * (18 * D + 3 * F + 4 * scores) + V3;
  }
  const double H = double(m.hidden), per_layer = ((m.cell == "lstm" ? 4 : 3) + 3) * H;
  return layers_e * (m.bidirectional ? 2 : 1) * per_layer + layers_d * per_layer + length + 3 * H + V3;
}

// The longest batch: sentences, their length in tokens, and the keys that say so.
struct BatchShape {
  double sentences, length;
  std::string keys;
};
BatchShape batch_shape(const Config& c) {
  std::int64_t length = kAssumedLength;
  std::string length_key = " (assumed: data.max_len = 0)";
  if (c.data.max_len > 0) length = c.data.max_len, length_key = " (data.max_len)";
  if (!c.data.task.empty() && c.data.task_max_len < length)  // a lower bound: some tasks run longer
    length = c.data.task_max_len, length_key = " (assumed from data.task_max_len)";
  std::ostringstream k;
  BatchShape b{double(c.train.batch_size), double(length), ""};
  if (c.train.batch_tokens > 0) {
    b.sentences = std::max(1.0, double(c.train.batch_tokens) / b.length);
    k << "train.batch_tokens = " << c.train.batch_tokens;
  } else {
    if (!c.data.task.empty()) b.sentences = std::min(b.sentences, double(c.data.task_train));
    k << "train.batch_size = " << c.train.batch_size << " sentences";
  }
  k << " of " << length << " tokens" << length_key;
  b.keys = k.str();
  return b;
}

// The keys the estimate grows with, for the error message.
std::string estimate_keys(const Config& c, std::int64_t vocab) {
  const ModelConfig& m = c.model;
  std::ostringstream k;
  k << "model.type = \"" << m.type << "\"";
  if (m.type == "transformer") k << ", model.d_model = " << m.d_model << ", model.ff_dim = " << m.ff_dim;
  else k << ", model.embed_dim = " << m.embed_dim << ", model.hidden = " << m.hidden;
  k << ", model.encoder_layers = " << m.encoder_layers << ", model.decoder_layers = " << m.decoder_layers;
  if (m.type == "transformer" && m.positions == "learned") k << ", model.max_positions = " << m.max_positions;
  k << ", a vocabulary of " << vocab
    << (c.data.vocab_size > 0 ? " (data.vocab_size)" : " (assumed: data.vocab_size = 0)");
  return k.str();
}

}  // namespace

MemoryEstimate estimate_model_memory(const Config& c) {
  MemoryEstimate e;
  const ModelConfig& m = c.model;
  if (m.type != "transformer" && m.type != "rnn_attention") return e;  // a registered model: unknown shapes
  e.vocab = c.data.vocab_size > 0 ? c.data.vocab_size : kAssumedVocab;
  const double vocab = double(e.vocab);
  e.parameters = m.type == "transformer" ? transformer_parameters(m, vocab) : rnn_parameters(m, vocab);
  const bool adam = c.train.optimizer != "sgd";
  const double state = adam ? 2 : c.train.momentum > 0 ? 1 : 0;  // optimizer slots per parameter
  e.parameter_bytes = e.parameters * sizeof(float) * (2 + state);  // values, gradients, state
  const BatchShape b = batch_shape(c);
  e.activation_bytes = 2 * b.sentences * b.length * activation_floats_per_token(m, vocab, b.length) * sizeof(float);
  return e;
}

void validate_resources(const Config& c, std::int64_t available_bytes) {
  if (available_bytes < 0) available_bytes = physical_memory_bytes();
  if (available_bytes <= 0) return;  // unknown: nothing to compare with
  const MemoryEstimate e = estimate_model_memory(c);
  const double total = e.parameter_bytes + e.activation_bytes;
  if (total <= double(available_bytes)) return;
  char params[64];
  std::snprintf(params, sizeof params, "%.1f million", e.parameters / 1e6);
  XSEQ_CHECK_AS(ConfigError, false, c.source, ": training this model needs about ", format_gib(total), ": ", format_gib(e.parameter_bytes), " for ", params,
             " parameters with their gradients and ", c.train.optimizer, " state (", estimate_keys(c, e.vocab), ") and ",
             format_gib(e.activation_bytes), " of activations for one batch (", batch_shape(c).keys, "); this machine has ",
             format_gib(double(available_bytes)), " of memory");
}

}  // namespace xseq
