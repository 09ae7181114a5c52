// Config files: [data], [model], [train] in TOML. Every key has a type, a
// default, a range and a line of documentation in one schema (config.cpp),
// which also prints docs/config.md (`xseq config --markdown`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framework/plugin.hpp"
#include "models/seq2seq.hpp"

namespace xseq {

struct DataConfig {
  std::string train, valid, test;  ///< TSV files, or "a.src,a.tgt" pairs
  std::string task;                ///< or a synthetic task (then the sizes below)
  std::int64_t task_train = 10000, task_valid = 500, task_test = 500;
  std::int64_t task_min_len = 3, task_max_len = 12, task_max_digits = 4;
  std::string task_alphabet = "abcdefghijklmnopqrstuvwxyz";
  std::int64_t task_seed = 1;
  std::string tokenizer = "char";  ///< char, space, sentencepiece
  std::string sentencepiece_model;  ///< load this .model (or "src.model,tgt.model") instead of training one
  std::string sentencepiece_type = "unigram";
  std::int64_t vocab_size = 0;  ///< max vocabulary size (0 = all); SentencePiece pieces to train (0 = 1000)
  std::int64_t min_freq = 1;
  std::int64_t max_len = 100;
  std::string over_long = "drop";  ///< or "reject"
  bool shared_vocab = true;
  /// Vocabulary files (`xseq data vocab`) used instead of building them from the
  /// training data; with shared_vocab one file may serve both sides.
  std::string source_vocab, target_vocab;
};

struct TrainConfig {
  std::int64_t batch_size = 64, batch_tokens = 0;
  std::string optimizer = "adam";
  double lr = 1e-3, momentum = 0.9, weight_decay = 0.0, beta1 = 0.9, beta2 = 0.98, eps = 1e-9;
  std::string schedule = "constant";
  std::int64_t warmup_steps = 0, max_steps = 1000, max_epochs = 0;
  double clip_norm = 1.0, label_smoothing = 0.0;
  std::int64_t accumulate = 1, valid_every = 250, checkpoint_every = 250, log_every = 50, patience = 0;
  std::string metric = "exact_match";
  std::int64_t seed = 1, threads = 0;
  /// Matrix products of training: fp32, bf16 (oneDNN; fp32 master weights,
  /// accumulation, loss, softmax and layer norm) or auto (bf16 where the CPU has
  /// avx512_bf16 or AMX-BF16). docs/precision.md.
  std::string precision = "fp32";
  std::string out_dir = "runs/run";
  std::string init_from;  ///< fine-tune from this checkpoint (as --init-from; empty = off; --resume ignores it)
  std::int64_t valid_max_sentences = 0;  ///< greedy-decode at most this many validation sentences (0 = all)
  double max_loss_ratio = 10.0;  ///< divergence stop: loss above ratio x running average (and above ln V); 0 = off
  std::int64_t keep_checkpoints = 0;  ///< keep the last N ckpt-<step>.h5 (0 = none)
  std::int64_t average_last = 0;      ///< at the end, average the last N of them into averaged.h5 (0 = off)
  double ema_decay = 0.0;             ///< exponential moving average of the weights (0 = off)
  double max_minutes = 0.0;           ///< stop (save, average, test) after this many minutes of training (0 = off)
  double plateau_factor = 0.5;        ///< schedule "plateau": multiply the rate by this ...
  std::int64_t plateau_patience = 2;  ///< ... after this many validations without improvement
};

struct Config {
  /// plugins = ["libglu.so", ...] at the top of the file: loaded (framework/plugin.hpp)
  /// before the sections are read, so their layer and model names are known. Paths
  /// are relative to the working directory; bare names are searched in XSEQ_PLUGIN_PATH.
  std::vector<std::string> plugins;
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  std::string source;  ///< the file it came from
  /// The registered names the model uses (type, attention, extra layers): what a
  /// checkpoint records the providing plugins of.
  std::vector<RegisteredName> registered_names() const;
  /// The resolved config as TOML, every key present.
  std::string to_toml() const;
};

/// Reads `path`, applies `overrides` ("section.key=value", TOML syntax for the
/// value; bare words are strings) and checks everything. Errors name the file,
/// line and column, the key, and for unknown keys the closest known one.
/// Refuses a model too large for this machine (validate_resources).
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});
/// Parses config text (for tests and for configs stored in checkpoints).
Config parse_config(const std::string& text, const std::string& origin,
                    const std::vector<std::string>& overrides = {});
/// A rough lower bound on the memory training `config` takes. The vocabulary is
/// not known before the data is read: data.vocab_size when set, else 1000.
struct MemoryEstimate {
  double parameters = 0;        ///< parameter count (0 for a registered model type: shapes unknown)
  double parameter_bytes = 0;   ///< parameters, their gradients and the optimizer's state
  double activation_bytes = 0;  ///< one batch of the longest sentences (data.max_len, else 100 tokens)
  std::int64_t vocab = 0;       ///< the vocabulary size assumed
};
MemoryEstimate estimate_model_memory(const Config& config);
/// Throws when the estimate exceeds `available_bytes` (< 0: the machine's
/// physical memory), naming the keys and the sizes in GiB. load_config calls it.
void validate_resources(const Config& config, std::int64_t available_bytes = -1);
/// docs/config.md's key tables, generated from the schema.
std::string config_markdown();

}  // namespace xseq
