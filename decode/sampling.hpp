// Decoding by sampling: each next token is drawn from the model's distribution
// (sharpened or flattened by a temperature, cut to the top k tokens and/or to
// the nucleus of mass top_p), reproducibly from a seed.
#pragma once

#include <cstdint>
#include <vector>

#include "framework/random.hpp"
#include "decode/decoding.hpp"

namespace xseq {

/// Draws one token from a row of V log-probabilities under options.temperature,
/// top_k and top_p, with `rng` (one draw). `scratch` is reused between calls.
/// top_k = 1 (or a temperature near 0) gives the first most likely token, as
/// greedy's max_element does.
std::int32_t sample_token(const float* log_probs, std::int64_t V, const DecodeOptions& options, Rng& rng,
                          std::vector<std::pair<double, std::int32_t>>& scratch);

/// Like greedy_decode, but each token is drawn (sample_token). Row b draws from the
/// stream Rng(Rng::hash(options.seed, sentence_ids[b])), one draw per token, so a
/// sentence gets the same output in any batch and with any thread count.
/// Hypothesis::score is the sum of the model's own log-probabilities of the drawn
/// tokens (temperature 1, no top-k/top-p cut): what `xseq score` gives the output.
std::vector<Hypothesis> sample_decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                                      const DecodeOptions& options, const std::vector<std::int64_t>& sentence_ids);

}  // namespace xseq
