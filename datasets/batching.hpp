// Batches: padded id tensors plus lengths and the shifted decoder input/output,
// grouped by sentence count or by a token budget, bucketed by length, shuffled
// per epoch from a seed, with a position that can be saved and restored.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/corpus.hpp"
#include "framework/layers/attention.hpp"  // Lengths
#include "framework/tensor.hpp"

namespace xseq {

struct Batch {
  IndexTensor source;          ///< (B, S) source ids, <pad> = 0 past each length
  IndexTensor decoder_input;   ///< (B, T) <s> y_1 ... y_n, padded
  IndexTensor decoder_output;  ///< (B, T) y_1 ... y_n </s>, padded (loss targets; <pad> is ignored)
  Lengths source_lengths;      ///< n_src per sentence
  Lengths target_lengths;      ///< n_tgt + 1 per sentence (the length of both decoder rows)
  std::vector<std::int64_t> indices;  ///< each row's pair index in the TokenizedCorpus

  std::int64_t size() const { return static_cast<std::int64_t>(indices.size()); }
  std::int64_t source_tokens() const;  ///< non-pad
  std::int64_t target_tokens() const;  ///< non-pad decoder outputs (the tokens a loss counts)
  /// Padding slots / all slots over both the source and the decoder-output tensors.
  double padding_fraction() const;
};

/// Assembles the batch of the given pairs (in that order).
Batch make_batch(const TokenizedCorpus& corpus, const std::vector<std::int64_t>& indices);

struct BatchOptions {
  std::int64_t batch_size = 64;    ///< sentences per batch (when batch_tokens == 0)
  std::int64_t batch_tokens = 0;   ///< > 0: padded tokens per batch, B * max(S, T) <= budget
  bool shuffle = true;             ///< new order every epoch (seeded)
  bool bucket = true;              ///< group sentences of similar length
  std::int64_t bucket_pool = 50;   ///< batches' worth of sentences sorted together
  std::uint64_t seed = 1;
};

/// Iterates over a corpus epoch after epoch. An epoch's batches are a pure
/// function of (seed, epoch), so state() = (epoch, batch) is all a checkpoint
/// needs to resume with exactly the batches an uninterrupted run would see.
class BatchIterator {
 public:
  struct State {
    std::int64_t epoch = 0;  ///< 0-based
    std::int64_t batch = 0;  ///< next batch within the epoch
  };

  BatchIterator(const TokenizedCorpus& corpus, BatchOptions options);
  /// The next batch; after the last batch of an epoch comes the next epoch's first.
  Batch next();
  State state() const { return state_; }
  void restore(const State& state);
  std::int64_t epoch() const { return state_.epoch; }
  std::int64_t batches_per_epoch() const { return static_cast<std::int64_t>(plan_.size()); }
  /// Padding share of the current epoch's batches (source + decoder outputs).
  double padding_fraction() const;
  /// The pair indices of every batch of the current epoch, in order.
  const std::vector<std::vector<std::int64_t>>& plan() const { return plan_; }

 private:
  void plan_epoch(std::int64_t epoch);

  const TokenizedCorpus& corpus_;
  BatchOptions options_;
  State state_;
  std::vector<std::vector<std::int64_t>> plan_;
};

/// Splits `order` into consecutive batches by sentence count or token budget.
std::vector<std::vector<std::int64_t>> cut_batches(const TokenizedCorpus& corpus,
                                                   const std::vector<std::int64_t>& order,
                                                   const BatchOptions& options);

}  // namespace xseq
