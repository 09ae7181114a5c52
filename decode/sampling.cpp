#include "decode/sampling.hpp"

#include <algorithm>
#include <cmath>

namespace xseq {
namespace {

// Most likely first; of equal log-probabilities the lower id (greedy's choice).
bool more_likely(const std::pair<double, std::int32_t>& x, const std::pair<double, std::int32_t>& y) {
  return x.first != y.first ? x.first > y.first : x.second < y.second;
}

// 53 random bits as a double in [0, 1).
double uniform53(Rng& rng) { return double(rng.next_u64() >> 11) * (1.0 / 9007199254740992.0); }

}  // namespace

std::int32_t sample_token(const float* log_probs, std::int64_t V, const DecodeOptions& options, Rng& rng,
                          std::vector<std::pair<double, std::int32_t>>& scratch) {
  // scratch: (log-prob, id) of the tokens still in the draw.
  scratch.resize(static_cast<std::size_t>(V));
  for (std::int64_t v = 0; v < V; ++v)
    scratch[static_cast<std::size_t>(v)] = {double(log_probs[v]), static_cast<std::int32_t>(v)};
  auto kept = scratch.end();
  bool sorted = false;
  if (options.top_k > 0 && options.top_k < V) {
    kept = scratch.begin() + static_cast<std::ptrdiff_t>(options.top_k);
    std::partial_sort(scratch.begin(), kept, scratch.end(), more_likely);
    sorted = true;
  }
  if (options.top_p < 1.0 && !sorted) std::sort(scratch.begin(), kept, more_likely);
  // Weights exp((lp - max) / T), written over the log-probabilities.
  double top = -INFINITY;
  for (auto it = scratch.begin(); it != kept; ++it) top = std::max(top, it->first);
  double total = 0.0;
  for (auto it = scratch.begin(); it != kept; ++it) {
    it->first = std::exp((it->first - top) / options.temperature);
    total += it->first;
  }
  if (options.top_p < 1.0) {
    // The nucleus: the shortest most-likely-first prefix holding top_p of the mass.
    double mass = 0.0;
    auto it = scratch.begin();
    while (it != kept && mass < options.top_p * total) mass += (it++)->first;
    kept = it;
    total = mass;
  }
  const double target = uniform53(rng) * total;
  double cumulative = 0.0;
  for (auto it = scratch.begin(); it != kept; ++it) {
    cumulative += it->first;
    if (cumulative > target) return it->second;
  }
  return std::prev(kept)->second;  // rounding left target at the very end
}

std::vector<Hypothesis> sample_decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                                      const DecodeOptions& options, const std::vector<std::int64_t>& sentence_ids) {
  XSEQ_CHECK(options.temperature > 0.0 && std::isfinite(options.temperature),
             "sampling: the temperature must be > 0, got ", options.temperature);
  XSEQ_CHECK(options.top_k >= 0, "sampling: top-k must be >= 0 (0 = off), got ", options.top_k);
  XSEQ_CHECK(options.top_p > 0.0 && options.top_p <= 1.0, "sampling: top-p must be in (0, 1], got ", options.top_p);
  XSEQ_CHECK(static_cast<std::int64_t>(sentence_ids.size()) == source.shape[0], "sampling: ", sentence_ids.size(),
             " sentence ids for a batch of ", source.shape[0]);
  std::vector<Rng> rngs;
  rngs.reserve(sentence_ids.size());
  for (auto id : sentence_ids) rngs.emplace_back(Rng::hash(options.seed, static_cast<std::uint64_t>(id)));
  std::vector<std::pair<double, std::int32_t>> scratch;
  return pick_decode(model, source, lengths, options, [&](const float* row, std::int64_t V, std::int64_t b) {
    return sample_token(row, V, options, rngs[static_cast<std::size_t>(b)], scratch);
  });
}

}  // namespace xseq
