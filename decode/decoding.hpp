// Decoding with a trained model: greedy and beam search, batched over many
// sentences; finished sentences leave the batch.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "models/seq2seq.hpp"

namespace xseq {

struct Hypothesis {
  std::vector<std::int32_t> tokens;           ///< without <s> and </s>
  double score = 0.0;                         ///< sum of token log-probabilities (</s> included)
  double normalized = 0.0;                    ///< normalized_score(score, length, alpha) (beam search only)
  bool ended = false;                         ///< produced </s> (false: stopped at the length limit)
  std::vector<std::vector<float>> attention;  ///< per output token, weights over the source (if kept)
  /// per output token, per head, weights over the source (keep_head_attention, multi-head models)
  std::vector<std::vector<std::vector<float>>> head_attention;
};

struct DecodeOptions {
  double max_len_ratio = 2.0;   ///< a hypothesis stops at ratio * source length + max_len_extra tokens
  std::int64_t max_len_extra = 10;
  std::int64_t max_len = 0;     ///< and at this many tokens at most (0 = no absolute cap)
  bool keep_attention = false;
  bool keep_head_attention = false;
  std::int64_t beam = 1;        ///< beam size (1 = greedy)
  double alpha = 0.6;           ///< length penalty ((5 + |Y|) / 6)^alpha (Wu et al. 2016); 0 = none
  std::int64_t n_best = 1;      ///< beam_decode_nbest: hypotheses kept per sentence (<= beam)
  // Sampling (decode/sampling.hpp): instead of the most likely token, draw the next one.
  bool sample = false;
  double temperature = 1.0;     ///< > 0; the distribution is softmax(log_probs / temperature)
  std::int64_t top_k = 0;       ///< draw among the k most likely tokens only (0 = all)
  double top_p = 1.0;           ///< nucleus: the fewest most likely tokens holding mass >= top_p (1 = all)
  std::uint64_t seed = 1;       ///< sentence i draws from a stream of (seed, i)
};

/// The most tokens a hypothesis for a source of `source_length` tokens may have
/// (max_len_ratio, max_len_extra, max_len; at least 1).
std::int64_t output_limit(const DecodeOptions& options, std::int64_t source_length);

/// The score a beam ranks finished hypotheses by: log P(Y) / ((5 + |Y|) / 6)^alpha,
/// |Y| counting </s> when the hypothesis has one.
double normalized_score(double log_prob, std::int64_t length, double alpha);

/// Greedy decoding of a batch of sources (B, S) with their lengths; rows that
/// finish leave the batch, so later steps only pay for unfinished sentences.
std::vector<Hypothesis> greedy_decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                                      const DecodeOptions& options = {});

/// Chooses the next token of batch row `b` (the row's index in `source`) from
/// its V log-probabilities.
using TokenPicker = std::function<std::int32_t(const float* log_probs, std::int64_t V, std::int64_t b)>;
/// The loop of greedy_decode with the choice of each token left to `pick`
/// (greedy: the most likely; sample_decode: a draw).
std::vector<Hypothesis> pick_decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                                    const DecodeOptions& options, const TokenPicker& pick);

/// Beam search: at each step a sentence's `beam` best extensions by
/// log-probability are kept; those ending in </s> (or reaching the length
/// limit) are finished and the beam narrows. A sentence is done when no live
/// hypothesis can still end above the best finished one under the length
/// penalty, or none is left. Returns the finished hypothesis with the best
/// normalized_score. With beam = 1 this is exactly greedy_decode.
std::vector<Hypothesis> beam_decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                                    const DecodeOptions& options);

/// Beam search keeping the options.n_best (<= beam) best finished hypotheses of
/// each sentence, best first by normalized_score (equal scores: the one that
/// finished first). A sentence stops only once it has n_best finished hypotheses
/// and no live one can end above the n_best-th; it returns fewer only when the
/// search ran out of live hypotheses (a vocabulary smaller than n_best).
/// With n_best = 1 this is beam_decode; with a larger n_best the first entry is
/// the same hypothesis (other sentences of the batch may search longer, which can
/// change float32 rounding in the last bits).
std::vector<std::vector<Hypothesis>> beam_decode_nbest(Seq2SeqModel& model, const IndexTensor& source,
                                                       const Lengths& lengths, const DecodeOptions& options);

/// sample_decode (decode/sampling.hpp) when options.sample, else greedy_decode when
/// options.beam == 1, else beam_decode. `sentence_ids` (one per row; empty: 0..B-1)
/// name each row's random stream when sampling, so that a sentence draws the same
/// tokens whatever batch it is decoded in.
std::vector<Hypothesis> decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                               const DecodeOptions& options, const std::vector<std::int64_t>& sentence_ids = {});

}  // namespace xseq
