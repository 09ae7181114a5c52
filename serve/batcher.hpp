// Dynamic batching across requests: one queue per model. Requests add jobs (their
// sentences and search options); a free decoding thread takes a batch of up to
// max_batch_tokens source tokens (after waiting at most max_wait_ms, 0 by
// default, for companions: sentences that arrive while the decoding threads are
// busy queue up and go together into the next batches), one
// sentence from each waiting job in turn (so a 500-sentence request does not
// starve single sentences), and hand each result back to its job. Jobs whose
// client left or whose deadline passed are dropped. Decoding is batch-invariant
// (docs/api.md), so a sentence's answer does not depend on its companions.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "decode/translator.hpp"
#include "serve/metrics.hpp"

namespace xseq::serve {

using Clock = std::chrono::steady_clock;

/// One request's sentences; the request's thread waits on it.
struct Job {
  std::vector<std::string> texts;
  std::vector<std::int64_t> lengths;  ///< source tokens of each text (batch sizing)
  SearchOptions search;
  Clock::time_point arrived, deadline;
  std::vector<Translation> results;
  // Guarded by the queue's mutex:
  std::size_t next = 0;       ///< the first sentence not yet taken into a batch
  std::size_t remaining = 0;  ///< sentences not yet decoded
  bool cancelled = false;     ///< the client left or the deadline passed: its sentences are dropped
  std::string failure;        ///< decoding threw: the message
  std::condition_variable done;
  bool finished() const { return remaining == 0 || cancelled || !failure.empty(); }
};

struct BatchOptions {
  std::int64_t max_batch_tokens = 4096;   ///< source tokens per decoded batch
  std::int64_t max_wait_ms = 0;           ///< how long a free decoding thread waits for companions
  std::int64_t max_queued_tokens = 262144;  ///< beyond this a new job is refused (429)
};

class ModelQueue {
 public:
  /// Starts `threads` decoding threads over `translator` (each batch runs on one
  /// of the translator's workers).
  ModelQueue(std::string name, std::shared_ptr<const Translator> translator, BatchOptions options, Metrics& metrics,
             int threads);
  ~ModelQueue();
  ModelQueue(const ModelQueue&) = delete;
  ModelQueue& operator=(const ModelQueue&) = delete;

  /// Queues a job; false (nothing queued) when it would exceed max_queued_tokens.
  bool submit(const std::shared_ptr<Job>& job);
  /// Waits for the job until it finishes or `until`; on the deadline, or when
  /// `client_gone()` says so, cancels what is left of it. Returns the job's state.
  enum class Outcome { done, failed, deadline, client_gone };
  template <class ClientGone>
  Outcome wait(const std::shared_ptr<Job>& job, ClientGone client_gone);

  /// The translator new batches use (SIGHUP reload swaps it; batches already
  /// running finish with the old one).
  std::shared_ptr<const Translator> translator() const;
  void replace(std::shared_ptr<const Translator> translator);
  /// Sentences queued and not yet decoded.
  std::int64_t depth() const;
  /// Stops taking new jobs' sentences after the queue is empty, and joins the threads.
  void stop();
  const std::string& name() const { return name_; }

 private:
  void run();
  // A batch for one decoding thread, under the lock: (job, sentence) pairs with one search option set.
  struct Item {
    std::shared_ptr<Job> job;
    std::size_t index;
  };
  std::vector<Item> take_batch(std::unique_lock<std::mutex>& lock);
  void decode(std::vector<Item>& batch);
  void finish(std::vector<Item>& batch, std::vector<Translation>* results, const std::string& failure);
  void drop_cancelled();

  std::string name_;
  BatchOptions options_;
  Metrics& metrics_;
  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::deque<std::shared_ptr<Job>> jobs_;  ///< jobs with sentences not yet taken, oldest first
  std::int64_t queued_tokens_ = 0, queued_sentences_ = 0;
  std::shared_ptr<const Translator> translator_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

template <class ClientGone>
ModelQueue::Outcome ModelQueue::wait(const std::shared_ptr<Job>& job, ClientGone client_gone) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!job->finished()) {
    const auto now = Clock::now();
    if (now >= job->deadline) {
      job->cancelled = true;
      return Outcome::deadline;
    }
    const auto slice = std::min<Clock::duration>(job->deadline - now, std::chrono::milliseconds(50));
    job->done.wait_for(lock, slice);
    if (job->finished()) break;
    lock.unlock();
    const bool gone = client_gone();
    lock.lock();
    if (gone && !job->finished()) {
      job->cancelled = true;
      return Outcome::client_gone;
    }
  }
  if (!job->failure.empty()) return Outcome::failed;
  return job->cancelled ? Outcome::deadline : Outcome::done;
}

}  // namespace xseq::serve
