// Forced decoding: the log-probability a model gives each target of a corpus
// under teacher forcing (`xseq score`, Translator::score).
#pragma once

#include <cstdint>
#include <vector>

#include "datasets/corpus.hpp"
#include "models/seq2seq.hpp"

namespace xseq {

class Communicator;

/// The log-probability a model gives a target under teacher forcing.
struct PairScore {
  double log_prob = 0.0;    ///< sum over the target tokens, </s> included
  std::int64_t tokens = 0;  ///< target tokens, </s> included
  std::vector<float> token_log_probs;  ///< each target token's (one process; empty after an mpirun gather)
};

/// Forced decoding: every pair's target scored by model.logits + log_softmax (no
/// gradients, eval mode), in batches of `batch_size` pairs (sorted by length within
/// groups of 16 batches, to pad less). out[i] belongs to corpus row i. With a
/// communicator of more than one rank (mpirun), each rank scores a contiguous share
/// of the groups and every rank returns all scores (equal to one process's).
std::vector<PairScore> score_corpus(Seq2SeqModel& model, const TokenizedCorpus& corpus, std::int64_t batch_size,
                                    Communicator* communicator = nullptr);

}  // namespace xseq
