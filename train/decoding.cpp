#include "train/decoding.hpp"

#include <algorithm>

#include "datasets/vocab.hpp"

namespace xseq {

std::vector<Hypothesis> greedy_decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                                      const DecodeOptions& options) {
  NoGradGuard no_grad;
  const std::int64_t B = source.shape[0];
  std::vector<Hypothesis> out(static_cast<std::size_t>(B));
  std::unique_ptr<DecoderState> state = model.encode(source, lengths);
  std::vector<std::int64_t> active(static_cast<std::size_t>(B));  // original row of each live row
  for (std::int64_t b = 0; b < B; ++b) active[static_cast<std::size_t>(b)] = b;
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(B), Vocab::kBos);
  std::vector<std::int64_t> limit(static_cast<std::size_t>(B));
  for (std::int64_t b = 0; b < B; ++b)
    limit[static_cast<std::size_t>(b)] =
        static_cast<std::int64_t>(options.max_len_ratio * double(lengths[static_cast<std::size_t>(b)])) + options.max_len_extra;

  for (std::int64_t t = 0; !active.empty(); ++t) {
    const DecodeStep step = model.step(*state, tokens);
    const std::int64_t V = step.log_probs.dim(1);
    const float* lp = step.log_probs.value().data();
    std::vector<std::int64_t> keep;
    std::vector<std::int32_t> next;
    for (std::size_t r = 0; r < active.size(); ++r) {
      const float* row = lp + static_cast<std::int64_t>(r) * V;
      const auto best = static_cast<std::int32_t>(std::max_element(row, row + V) - row);
      Hypothesis& h = out[static_cast<std::size_t>(active[r])];
      h.score += row[best];
      if (options.keep_attention) {
        const Tensor& a = step.attention.value();
        const std::int64_t S = a.dim(1);
        h.attention.emplace_back(a.data() + static_cast<std::int64_t>(r) * S, a.data() + (static_cast<std::int64_t>(r) + 1) * S);
      }
      if (best == Vocab::kEos) continue;
      h.tokens.push_back(best);
      if (static_cast<std::int64_t>(h.tokens.size()) >= limit[static_cast<std::size_t>(active[r])]) continue;
      keep.push_back(static_cast<std::int64_t>(r));
      next.push_back(best);
    }
    if (keep.size() != active.size() && !keep.empty()) state->select(keep);
    std::vector<std::int64_t> still;
    for (auto r : keep) still.push_back(active[static_cast<std::size_t>(r)]);
    active = std::move(still);
    tokens = std::move(next);
  }
  return out;
}

}  // namespace xseq
