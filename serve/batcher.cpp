#include "serve/batcher.hpp"

#include <algorithm>
#include <cstring>

namespace xseq::serve {
namespace {

// Jobs batch together only with the same search options; sampling draws sentence
// i of a job from the stream (seed, i), so a sampling job's sentences go alone,
// in order, with their own indices.
bool same_search(const SearchOptions& a, const SearchOptions& b) {
  return !a.sample && !b.sample && a.beam == b.beam && a.n_best == b.n_best && a.alpha == b.alpha &&
         a.max_len_ratio == b.max_len_ratio && a.max_len_extra == b.max_len_extra && a.max_len == b.max_len &&
         a.attention == b.attention;
}

}  // namespace

ModelQueue::ModelQueue(std::string name, std::shared_ptr<const Translator> translator, BatchOptions options,
                       Metrics& metrics, int threads)
    : name_(std::move(name)), options_(options), metrics_(metrics), translator_(std::move(translator)) {
  for (int t = 0; t < threads; ++t) threads_.emplace_back([this] { run(); });
}

ModelQueue::~ModelQueue() { stop(); }

bool ModelQueue::submit(const std::shared_ptr<Job>& job) {
  std::int64_t tokens = 0;
  for (auto n : job->lengths) tokens += std::max<std::int64_t>(n, 1);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || (queued_tokens_ > 0 && queued_tokens_ + tokens > options_.max_queued_tokens)) return false;
    job->remaining = job->texts.size();
    job->results.resize(job->texts.size());
    if (job->texts.empty()) return true;  // nothing to decode: finished at once
    jobs_.push_back(job);
    queued_tokens_ += tokens;
    queued_sentences_ += std::int64_t(job->texts.size());
    metrics_.queue_depth(name_, queued_sentences_);
  }
  work_.notify_one();
  return true;
}

std::shared_ptr<const Translator> ModelQueue::translator() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return translator_;
}

void ModelQueue::replace(std::shared_ptr<const Translator> translator) {
  std::lock_guard<std::mutex> lock(mutex_);
  translator_ = std::move(translator);
}

std::int64_t ModelQueue::depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queued_sentences_;
}

void ModelQueue::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  work_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

// Removes cancelled jobs (their untaken sentences leave the queue); under the lock.
void ModelQueue::drop_cancelled() {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    Job& job = **it;
    if (!job.cancelled) {
      ++it;
      continue;
    }
    for (std::size_t i = job.next; i < job.texts.size(); ++i) {
      queued_tokens_ -= std::max<std::int64_t>(job.lengths[i], 1);
      --queued_sentences_;
    }
    job.next = job.texts.size();
    it = jobs_.erase(it);
  }
}

std::vector<ModelQueue::Item> ModelQueue::take_batch(std::unique_lock<std::mutex>& lock) {
  while (true) {
    drop_cancelled();
    if (jobs_.empty()) {
      if (stopping_) return {};
      work_.wait(lock);
      continue;
    }
    // Wait (at most max_wait_ms after the oldest job arrived) for a full batch.
    const auto ready_at = jobs_.front()->arrived + std::chrono::milliseconds(options_.max_wait_ms);
    if (queued_tokens_ < options_.max_batch_tokens && Clock::now() < ready_at && !stopping_) {
      work_.wait_until(lock, ready_at);
      continue;
    }
    break;
  }
  // Round robin over the jobs that batch with the oldest: one sentence each per round.
  const SearchOptions key = jobs_.front()->search;
  std::vector<Item> batch;
  std::int64_t tokens = 0, longest = 0;
  const bool alone = key.sample;  // a sampling job's sentences go by themselves
  for (bool took = true; took;) {
    took = false;
    for (auto& job : jobs_) {
      if (job->next >= job->texts.size() || (job != jobs_.front() && (alone || !same_search(job->search, key))))
        continue;
      const std::int64_t length = std::max<std::int64_t>(job->lengths[job->next], 1);
      const std::int64_t cost = std::max(longest, length) * std::int64_t(batch.size() + 1);
      if (!batch.empty() && cost > options_.max_batch_tokens) {
        took = false;
        break;
      }
      batch.push_back({job, job->next++});
      tokens += length;
      longest = std::max(longest, length);
      took = true;
    }
  }
  queued_tokens_ -= tokens;
  queued_sentences_ -= std::int64_t(batch.size());
  metrics_.queue_depth(name_, queued_sentences_);
  jobs_.erase(std::remove_if(jobs_.begin(), jobs_.end(), [](const auto& j) { return j->next >= j->texts.size(); }),
              jobs_.end());
  return batch;
}

void ModelQueue::run() {
  while (true) {
    std::vector<Item> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      batch = take_batch(lock);
    }
    if (batch.empty()) return;  // stopping and nothing left
    decode(batch);
  }
}

void ModelQueue::decode(std::vector<Item>& batch) {
  const auto start = Clock::now();
  for (const Item& item : batch)
    metrics_.queue_wait(std::chrono::duration<double>(start - item.job->arrived).count());
  metrics_.batch(std::int64_t(batch.size()));
  std::vector<std::string> texts;
  for (const Item& item : batch) texts.push_back(item.job->texts[item.index]);
  const std::shared_ptr<const Translator> translator = this->translator();
  try {
    // Sampling batches hold consecutive sentences of one job: sentence i samples (seed, i).
    std::vector<Translation> results = translator->translate(texts, batch[0].job->search, std::int64_t(batch[0].index));
    std::int64_t generated = 0;
    for (const Translation& t : results) generated += std::int64_t(t.tokens.size()) + (t.ended ? 1 : 0);
    metrics_.generated(generated);
    finish(batch, &results, "");
  } catch (const std::exception& e) {
    finish(batch, nullptr, e.what());
  }
}

void ModelQueue::finish(std::vector<Item>& batch, std::vector<Translation>* results, const std::string& failure) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (std::size_t k = 0; k < batch.size(); ++k) {
    Job& job = *batch[k].job;
    if (results) job.results[batch[k].index] = std::move((*results)[k]);
    if (!failure.empty()) job.failure = failure;
    if (job.remaining > 0) --job.remaining;
    if (job.finished()) job.done.notify_all();
  }
}

}  // namespace xseq::serve
