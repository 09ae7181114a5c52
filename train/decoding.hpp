// Decoding with a trained model: greedy search, batched over many sentences.
// (Beam search joins it with the evaluation issue.)
#pragma once

#include <cstdint>
#include <vector>

#include "models/seq2seq.hpp"

namespace xseq {

struct Hypothesis {
  std::vector<std::int32_t> tokens;           ///< without <s> and </s>
  double score = 0.0;                         ///< sum of token log-probabilities (</s> included)
  std::vector<std::vector<float>> attention;  ///< per output token, weights over the source (if kept)
};

struct DecodeOptions {
  double max_len_ratio = 2.0;   ///< a hypothesis stops at ratio * source length + max_len_extra tokens
  std::int64_t max_len_extra = 10;
  bool keep_attention = false;
};

/// Greedy decoding of a batch of sources (B, S) with their lengths; rows that
/// finish leave the batch, so later steps only pay for unfinished sentences.
std::vector<Hypothesis> greedy_decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                                      const DecodeOptions& options = {});

}  // namespace xseq
