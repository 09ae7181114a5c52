#include "datasets/batching.hpp"

#include <algorithm>
#include <numeric>

#include "datasets/vocab.hpp"
#include "framework/error.hpp"
#include "framework/random.hpp"

namespace xseq {

std::int64_t Batch::source_tokens() const {
  std::int64_t n = 0;
  for (auto l : source_lengths) n += l;
  return n;
}

std::int64_t Batch::target_tokens() const {
  std::int64_t n = 0;
  for (auto l : target_lengths) n += l;
  return n;
}

double Batch::padding_fraction() const {
  const double slots = double(source.numel() + decoder_output.numel());
  return slots == 0 ? 0.0 : 1.0 - double(source_tokens() + target_tokens()) / slots;
}

Batch make_batch(const TokenizedCorpus& corpus, const std::vector<std::int64_t>& indices) {
  XSEQ_CHECK(!indices.empty(), "make_batch: no sentences");
  Batch b;
  b.indices = indices;
  const auto B = static_cast<std::int64_t>(indices.size());
  std::int64_t S = 0, T = 0;
  for (auto i : indices) {
    S = std::max(S, corpus.source_length(i));
    T = std::max(T, corpus.target_length(i) + 1);
  }
  std::vector<std::int32_t> src(static_cast<std::size_t>(B * S), Vocab::kPad);
  std::vector<std::int32_t> dec_in(static_cast<std::size_t>(B * T), Vocab::kPad), dec_out = dec_in;
  for (std::int64_t r = 0; r < B; ++r) {
    const std::int64_t i = indices[static_cast<std::size_t>(r)];
    const std::int64_t ns = corpus.source_length(i), nt = corpus.target_length(i);
    corpus.source().copy(i, src.data() + r * S);
    dec_in[static_cast<std::size_t>(r * T)] = Vocab::kBos;
    corpus.target().copy(i, dec_in.data() + r * T + 1);
    corpus.target().copy(i, dec_out.data() + r * T);
    dec_out[static_cast<std::size_t>(r * T + nt)] = Vocab::kEos;
    b.source_lengths.push_back(ns);
    b.target_lengths.push_back(nt + 1);
  }
  b.source = IndexTensor({B, S}, std::move(src));
  b.decoder_input = IndexTensor({B, T}, std::move(dec_in));
  b.decoder_output = IndexTensor({B, T}, std::move(dec_out));
  return b;
}

std::vector<std::vector<std::int64_t>> cut_batches(const TokenizedCorpus& corpus,
                                                   const std::vector<std::int64_t>& order,
                                                   const BatchOptions& options) {
  std::vector<std::vector<std::int64_t>> batches;
  std::vector<std::int64_t> current;
  std::int64_t longest = 0;
  for (auto i : order) {
    const std::int64_t len = std::max(corpus.source_length(i), corpus.target_length(i) + 1);
    bool full;
    if (options.batch_tokens > 0) {
      // The padded size the batch would have with this sentence added.
      full = !current.empty() &&
             static_cast<std::int64_t>(current.size() + 1) * std::max(longest, len) > options.batch_tokens;
    } else {
      full = static_cast<std::int64_t>(current.size()) >= options.batch_size;
    }
    if (full) {
      batches.push_back(std::move(current));
      current.clear();
      longest = 0;
    }
    current.push_back(i);
    longest = std::max(longest, len);
  }
  if (!current.empty()) batches.push_back(std::move(current));
  return batches;
}

BatchIterator::BatchIterator(const TokenizedCorpus& corpus, BatchOptions options)
    : corpus_(corpus), options_(options) {
  XSEQ_CHECK(corpus.size() > 0, "BatchIterator: the corpus is empty");
  XSEQ_CHECK(options.batch_tokens > 0 || options.batch_size > 0, "BatchIterator: batch_size must be positive, got ",
             options.batch_size);
  XSEQ_CHECK(options.bucket_pool > 0, "BatchIterator: bucket_pool must be positive");
  plan_epoch(0);
}

void BatchIterator::plan_epoch(std::int64_t epoch) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(corpus_.size()));
  std::iota(order.begin(), order.end(), 0);
  // One generator per epoch, seeded from (seed, epoch): any epoch can be
  // re-planned on its own when a run resumes.
  Rng rng(Rng::hash(options_.seed, static_cast<std::uint64_t>(epoch)));
  auto shuffle = [&](auto& v) {
    for (std::size_t k = v.size(); k > 1; --k) std::swap(v[k - 1], v[rng.below(k)]);
  };
  if (options_.shuffle) shuffle(order);
  if (options_.bucket) {
    // Sort pools of sentences by length so each batch holds similar lengths;
    // pools keep some randomness in which sentences meet.
    const std::int64_t mean_len = 1 + (corpus_.source_tokens() + corpus_.target_tokens()) / (2 * corpus_.size());
    const std::int64_t per_batch =
        options_.batch_tokens > 0 ? std::max<std::int64_t>(1, options_.batch_tokens / mean_len) : options_.batch_size;
    const std::size_t pool = static_cast<std::size_t>(per_batch * options_.bucket_pool);
    for (std::size_t start = 0; start < order.size(); start += pool) {
      const auto end = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + pool));
      std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(start), end, [&](std::int64_t a, std::int64_t b) {
        const auto la = std::make_pair(corpus_.source_length(a), corpus_.target_length(a));
        const auto lb = std::make_pair(corpus_.source_length(b), corpus_.target_length(b));
        return la < lb;
      });
    }
  }
  plan_ = cut_batches(corpus_, order, options_);
  if (options_.shuffle && options_.bucket) shuffle(plan_);  // no epoch runs short-to-long
  state_ = State{epoch, 0};
}

Batch BatchIterator::next() {
  if (state_.batch >= batches_per_epoch()) plan_epoch(state_.epoch + 1);
  return make_batch(corpus_, plan_[static_cast<std::size_t>(state_.batch++)]);
}

void BatchIterator::restore(const State& state) {
  XSEQ_CHECK(state.epoch >= 0 && state.batch >= 0, "BatchIterator: invalid state (epoch ", state.epoch, ", batch ",
             state.batch, ")");
  plan_epoch(state.epoch);
  XSEQ_CHECK(state.batch <= batches_per_epoch(), "BatchIterator: batch ", state.batch, " is past the ",
             batches_per_epoch(), " batches of epoch ", state.epoch, " (was the corpus or batching changed?)");
  state_.batch = state.batch;
}

double BatchIterator::padding_fraction() const {
  double slots = 0, tokens = 0;
  for (const auto& batch : plan_) {
    std::int64_t S = 0, T = 0;
    for (auto i : batch) {
      S = std::max(S, corpus_.source_length(i));
      T = std::max(T, corpus_.target_length(i) + 1);
      tokens += double(corpus_.source_length(i) + corpus_.target_length(i) + 1);
    }
    slots += double(static_cast<std::int64_t>(batch.size()) * (S + T));
  }
  return slots == 0 ? 0.0 : 1.0 - tokens / slots;
}

}  // namespace xseq
