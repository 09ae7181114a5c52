// xseq::Translator: the public inference API. Load a checkpoint (or several: an
// ensemble) once, then translate and score text from any number of threads.
// `xseq translate`, `xseq score`, the Python package and `xseq serve` are thin
// shells over it. docs/api.md is the guide; the example in
// examples/translate_api/ builds against the installed library:
//
//   #include <decode/translator.hpp>
//   xseq::TranslatorOptions options;
//   options.beam = 4;
//   xseq::Translator translator("runs/dates-transformer/best.h5", options);
//   for (const auto& t : translator.translate({"march 5 1996"})) std::cout << t.text << "\n";
//
// Outputs are batch-invariant: a sentence gets the same text, tokens and score
// (to the last bit) whatever else is translated with it, in whatever order,
// with however many threads. Errors are exceptions of the xseq::Error family
// (framework/error.hpp): CheckpointError, OptionError, InputError; nothing
// aborts the process.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "framework/error.hpp"

namespace xseq {

struct Config;

/// How to search. Names and defaults are those of `xseq translate`'s flags.
struct SearchOptions {
  std::int64_t beam = 1;         ///< beam size (1 = greedy search)
  std::int64_t n_best = 1;       ///< hypotheses returned per sentence (<= beam)
  double alpha = 0.6;            ///< length penalty ((5 + |Y|) / 6)^alpha of beam search (0 = none)
  double max_len_ratio = 2.0;    ///< an output stops at max_len_ratio * source tokens + max_len_extra ...
  std::int64_t max_len_extra = 10;
  std::int64_t max_len = 0;      ///< ... and never beyond this many tokens (0 = no absolute cap)
  bool sample = false;           ///< draw each token instead of searching (beam must be 1)
  double temperature = 1.0;      ///< sampling: divide the log-probabilities by this (> 0)
  std::int64_t top_k = 0;        ///< sampling: among the k most likely tokens only (0 = all)
  double top_p = 1.0;            ///< sampling: the nucleus of mass top_p (1 = all)
  std::uint64_t seed = 1;        ///< sampling: sentence i of a call draws from the stream of (seed, first_index + i)
  bool attention = false;        ///< return the cross-attention weights with each translation

  /// Throws OptionError naming the option and its valid range (or the conflict).
  void validate() const;
};

struct DecodeOptions;  // decode/decoding.hpp
/// The decoder's options for a search (attention kept when asked for).
DecodeOptions decode_options(const SearchOptions& search);

/// SearchOptions plus what a Translator is built with.
struct TranslatorOptions : SearchOptions {
  /// OpenMP threads of one translate/score call (each call sets them for its
  /// own thread only: another Translator's count is untouched). -1: the first
  /// checkpoint's train.threads, as `xseq translate` does; 0: all cores.
  int threads = -1;
  /// Calls that run at the same time: each has its own copy of the model's
  /// state (the weights are shared), further callers wait for a free one.
  /// workers x threads should not exceed the cores.
  int workers = 1;
  std::int64_t batch_size = 32;   ///< sentences decoded together
  std::int64_t batch_tokens = 0;  ///< > 0: batches of at most this many source tokens instead
  /// Longest source (and, for score, target) in tokens: 0 = the model's
  /// data.max_len, or 1024 when that is 0.
  std::int64_t max_input = 0;
  /// Longer inputs are cut to max_input (and flagged); false: InputError.
  bool truncate = true;
  /// The products of decoding and scoring: "fp32", "bf16" (oneDNN; needs
  /// avx512_bf16 or AMX) or "int8" (weights quantised per output row, activations
  /// per row at run time); "" = the checkpoint's (int8 for a quantised one, else
  /// fp32). docs/precision.md. A precision this CPU lacks is an OptionError.
  std::string precision;

  /// SearchOptions::validate and the fields above.
  void validate() const;
};

/// One translation (or one entry of an n-best list).
struct Translation {
  std::string text;                 ///< detokenised output
  std::vector<std::string> tokens;  ///< output tokens (target vocabulary pieces), without </s>
  double score = 0.0;               ///< natural-log probability of the output, </s> included
  double normalized_score = 0.0;    ///< score / ((5 + length) / 6)^alpha, length with </s>
  bool ended = true;                ///< produced </s> (false: stopped at the length limit)
  /// With SearchOptions::attention: [output token (</s> included when ended)][source
  /// token] head-averaged weights of the last decoder layer, and per head
  /// [output token][head][source token] (multi-head models).
  std::vector<std::vector<float>> attention;
  std::vector<std::vector<std::vector<float>>> head_attention;
  /// n_best entries, best first (the first is this translation; entries have no
  /// nested list). One entry when n_best is 1.
  std::vector<Translation> hypotheses;
  std::vector<std::string> source_tokens;  ///< the source as the model read it (after any cut)
  bool truncated = false;                  ///< the source was cut to max_input tokens
  std::int64_t unknown = 0;                ///< source tokens not in the vocabulary (read as <unk>)
};

/// Forced decoding of one (source, target) pair.
struct TargetScore {
  std::vector<std::string> tokens;   ///< the target's tokens, "</s>" last
  std::vector<double> token_log_probs;  ///< natural-log probability of each
  double log_prob = 0.0;             ///< their sum
  bool truncated = false;            ///< a side was cut to max_input tokens
};

class Translator {
 public:
  /// Loads one checkpoint, or several (an ensemble: the mean of the models'
  /// log-probabilities; they must share tokenizer and vocabularies), with the
  /// moving average of the weights when a checkpoint has one. Throws
  /// CheckpointError (missing(): the file does not exist) or OptionError.
  explicit Translator(const std::string& checkpoint, const TranslatorOptions& options = {});
  explicit Translator(const std::vector<std::string>& checkpoints, const TranslatorOptions& options = {});
  ~Translator();
  Translator(Translator&&) noexcept;
  Translator& operator=(Translator&&) noexcept;

  /// Translates each text with the Translator's options. An empty text gives an
  /// empty translation (score 0). Throws InputError for text that is not UTF-8 or
  /// holds a control character, or is too long with truncate off.
  std::vector<Translation> translate(const std::vector<std::string>& sources) const;
  /// The same with other search options for this call; sentence i samples from
  /// the stream of (search.seed, first_index + i).
  std::vector<Translation> translate(const std::vector<std::string>& sources, const SearchOptions& search,
                                     std::int64_t first_index = 0) const;
  /// Pre-tokenised sources (source vocabulary pieces, as tokenize() gives them).
  std::vector<Translation> translate_tokens(const std::vector<std::vector<std::string>>& sources) const;
  std::vector<Translation> translate_tokens(const std::vector<std::vector<std::string>>& sources,
                                            const SearchOptions& search, std::int64_t first_index = 0) const;

  /// The log-probability of each target given its source (teacher forcing), per
  /// token and in total. sources and targets must have the same length.
  std::vector<TargetScore> score(const std::vector<std::string>& sources,
                                 const std::vector<std::string>& targets) const;

  /// The source side's tokenisation of a text.
  std::vector<std::string> tokenize(const std::string& text) const;
  const TranslatorOptions& options() const;
  const std::vector<std::string>& checkpoints() const;
  /// The first checkpoint's stored config.
  const Config& config() const;
  /// The input limit in effect (options().max_input resolved against the model).
  std::int64_t max_input() const;
  /// The thread count each call runs with (options().threads resolved).
  int threads() const;
  /// The precision of its products (options().precision resolved): fp32, bf16 or int8.
  std::string precision() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xseq
