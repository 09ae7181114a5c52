// Decoding with a trained model: greedy and beam search, batched over many
// sentences; finished sentences leave the batch.
#pragma once

#include <cstdint>
#include <vector>

#include "models/seq2seq.hpp"

namespace xseq {

struct Hypothesis {
  std::vector<std::int32_t> tokens;           ///< without <s> and </s>
  double score = 0.0;                         ///< sum of token log-probabilities (</s> included)
  bool ended = false;                         ///< produced </s> (false: stopped at the length limit)
  std::vector<std::vector<float>> attention;  ///< per output token, weights over the source (if kept)
  /// per output token, per head, weights over the source (keep_head_attention, multi-head models)
  std::vector<std::vector<std::vector<float>>> head_attention;
};

struct DecodeOptions {
  double max_len_ratio = 2.0;   ///< a hypothesis stops at ratio * source length + max_len_extra tokens
  std::int64_t max_len_extra = 10;
  bool keep_attention = false;
  bool keep_head_attention = false;
  std::int64_t beam = 1;        ///< beam size (1 = greedy)
  double alpha = 0.6;           ///< length penalty ((5 + |Y|) / 6)^alpha (Wu et al. 2016); 0 = none
};

/// The score a beam ranks finished hypotheses by: log P(Y) / ((5 + |Y|) / 6)^alpha,
/// |Y| counting </s> when the hypothesis has one.
double normalized_score(double log_prob, std::int64_t length, double alpha);

/// Greedy decoding of a batch of sources (B, S) with their lengths; rows that
/// finish leave the batch, so later steps only pay for unfinished sentences.
std::vector<Hypothesis> greedy_decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                                      const DecodeOptions& options = {});

/// Beam search: at each step a sentence's `beam` best extensions by
/// log-probability are kept; those ending in </s> (or reaching the length
/// limit) are finished and the beam narrows. A sentence is done when no live
/// hypothesis can still end above the best finished one under the length
/// penalty, or none is left. Returns the finished hypothesis with the best
/// normalized_score. With beam = 1 this is exactly greedy_decode.
std::vector<Hypothesis> beam_decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                                    const DecodeOptions& options);

/// greedy_decode when options.beam == 1, else beam_decode.
std::vector<Hypothesis> decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                               const DecodeOptions& options);

}  // namespace xseq
