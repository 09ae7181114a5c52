// Metrics of a model on a test set: teacher-forced loss, perplexity and token
// accuracy; decoded exact match and token error rate; decoding speed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "decode/decoding.hpp"
#include "config/prepared_data.hpp"

namespace xseq {

class Communicator;

struct EvalOptions {
  std::int64_t batch_size = 64;
  std::int64_t max_sentences = 0;  ///< decode at most this many sentences (0 = all)
  DecodeOptions decode;
  /// When set, receives each decoded sentence's text, indexed like `text` (pair order).
  std::vector<std::string>* hypotheses = nullptr;
  /// Under mpirun (more than one rank): this rank decodes a contiguous share of the
  /// batches of one process, and every rank returns the metrics (and hypotheses) of
  /// the whole set, equal to one process's (docs/distributed.md). nullptr: this process only.
  Communicator* communicator = nullptr;
};

/// Levenshtein distance between two token sequences.
std::int64_t edit_distance(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b);

/// loss and perplexity (teacher forced, per target token incl. </s>), token_accuracy
/// (teacher forced), and over the decoded sentences: exact_match (detokenised output ==
/// reference text), token_error_rate (edit distance over reference tokens), bleu and
/// chrf (sacreBLEU's corpus BLEU and chrF2 on the detokenised text),
/// sentences, sentences_per_s and tokens_per_s (generated tokens incl. </s>).
std::map<std::string, double> evaluate(Seq2SeqModel& model, const TextPipeline& pipeline,
                                       const TokenizedCorpus& corpus, const ParallelText& text,
                                       const EvalOptions& options);

/// What `xseq eval` and xseq.evaluate() measure: checkpoints (an ensemble when
/// more than one) on a test file (a TSV, or "SRC,TGT" line-aligned files).
struct TestSetOptions {
  DecodeOptions decode;
  std::int64_t batch_size = 64;
  /// Longest side in tokens; longer ones are cut (and counted on stderr): 0 = the
  /// model's data.max_len, or 1024 when that is 0.
  std::int64_t max_input = 0;
  int threads = -1;  ///< -1: the first checkpoint's train.threads; 0: all cores
  std::vector<std::string>* hypotheses = nullptr;  ///< receives the decoded sentences, in file order
  Communicator* communicator = nullptr;            ///< mpirun: see EvalOptions
  bool tell = true;  ///< print the truncation count to stderr (rank 0)
  /// Products: fp32, bf16, int8, or "" = the checkpoint's (TranslatorOptions::precision).
  std::string precision;
  std::string* precision_used = nullptr;  ///< receives the precision resolved
};

/// The metrics evaluate() gives, keyed as `xseq eval --json` writes them.
std::map<std::string, double> evaluate_test_set(const std::vector<std::string>& checkpoints, const std::string& data,
                                                const TestSetOptions& options);

}  // namespace xseq
