// What training does differently with more than one rank, in one place
// (docs/distributed.md): the start-up check that every rank runs the same job,
// each rank's share of an update's batches, their dropout streams, the
// gradient sum over ranks and the check that the replicas stay identical.
// With one rank every call is free and changes nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <unordered_map>
#include <string>
#include <utility>
#include <vector>

#include "datasets/corpus.hpp"
#include "framework/autograd.hpp"
#include "framework/module.hpp"
#include "framework/optim.hpp"
#include "framework/distributed.hpp"

namespace xseq {

class DataParallel {
 public:
  explicit DataParallel(Communicator& comm) : comm_(comm) {}
  int rank() const { return comm_.rank(); }
  int size() const { return comm_.size(); }
  /// Rank 0 alone writes the log, checkpoints and terminal output.
  bool writer() const { return comm_.rank() == 0; }
  /// For work every rank shares (validation): the communicator with more than
  /// one rank, else nullptr (one process's path).
  Communicator* shared_work() const { return comm_.size() > 1 ? &comm_ : nullptr; }

  /// Every rank's (what, fingerprint) list must equal rank 0's; otherwise every
  /// rank stops with one error naming the ranks and what differs.
  void check_same_run(const std::vector<std::pair<std::string, std::string>>& fingerprints) const;
  /// This rank's batches [first, last) of an update of size() * per_rank batches.
  std::pair<std::int64_t, std::int64_t> share(std::int64_t per_rank) const {
    return {rank() * per_rank, (rank() + 1) * per_rank};
  }
  /// Runs the backward pass of this rank's last batch of an update, starting each
  /// bucket's non-blocking sum as soon as backward has finished all of the
  /// bucket's gradients (LeafGradientHookScope), so communication overlaps the
  /// rest of backward, as PyTorch DDP and Horovod do. XSEQ_ALLREDUCE_OVERLAP=0
  /// starts the sums after backward instead (for measuring what overlap buys).
  void backward_with_sums(Variable& loss, const std::vector<Variable>& params);
  /// Sums every parameter's gradient over the ranks: starts the buckets not
  /// started yet (newest layers first), waits for all, writes the sums back.
  void sum_gradients(const std::vector<Variable>& params);
  /// Sums a few numbers over the ranks (the update's loss, a stop request).
  void sum(std::vector<double>& values) { comm_.sum(values.data(), values.size()); }
  /// Stops with an error when the ranks' parameters or optimizer state are no longer bit-identical.
  void check_replicas(const std::vector<Variable>& params, const Optimizer* optimizer, std::int64_t step) const;

  /// Bytes each rank contributed to the last gradient sum; the wall time from the
  /// first bucket's start to the end of the wait; the wait alone (what overlap did
  /// not hide); and the share of the bytes started while backward still ran.
  double last_sum_bytes() const { return last_sum_bytes_; }
  double last_sum_ms() const { return last_sum_ms_; }
  double last_wait_ms() const { return last_wait_ms_; }
  double last_overlap() const { return last_overlap_; }

 private:
  void plan_buckets(const std::vector<Variable>& params);
  void start_bucket(std::size_t b, const std::vector<Variable>& params);

  Communicator& comm_;
  struct Bucket {
    std::vector<std::size_t> params;  ///< indices into the parameter list
    std::vector<float> data;
    std::size_t waiting = 0;  ///< gradients backward has not finished yet
    bool started = false;
  };
  std::vector<Bucket> buckets_;
  std::unordered_map<const VariableImpl*, std::size_t> bucket_of_;  ///< parameter -> bucket
  bool overlap_ = true;
  std::chrono::steady_clock::time_point first_start_;
  double started_bytes_ = 0;  ///< started during backward
  double last_sum_bytes_ = 0, last_sum_ms_ = 0, last_wait_ms_ = 0, last_overlap_ = 0;
};

/// Dropout streams of an update of several batches: batch j draws from counter
/// base + j * 2^36 of every generator of the model, so a rank can start at its
/// first batch without knowing how many numbers the batches before it drew. An
/// update of one batch keeps the generators' own sequence (unchanged results).
class BatchRngStreams {
 public:
  BatchRngStreams(Module& model, std::int64_t batches_per_update);
  /// Before the forward pass of batch j of the update.
  void enter(std::int64_t j);
  /// After the update: every rank's generators at base + batches * 2^36.
  void finish();

 private:
  static constexpr std::uint64_t kStride = std::uint64_t(1) << 36;
  std::int64_t batches_;
  std::vector<Rng*> rngs_;
  std::vector<std::uint64_t> base_;
};

/// Fingerprints for check_same_run: a 64-bit hash in hex of text, of a corpus's
/// ids, of a file's bytes.
std::string fingerprint_text(const std::string& text);
std::string fingerprint_corpus(const TokenizedCorpus& corpus);
std::string fingerprint_file(const std::string& path);

}  // namespace xseq
