#include "train/decoding.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "datasets/vocab.hpp"

namespace xseq {
namespace {

// Row r of a (B, H, S) per-head attention tensor, as H vectors of S weights.
std::vector<std::vector<float>> head_rows(const Variable& heads, std::int64_t r) {
  std::vector<std::vector<float>> out;
  if (!heads.defined()) return out;
  const Tensor& t = heads.value();
  const std::int64_t H = t.dim(1), S = t.dim(2);
  for (std::int64_t h = 0; h < H; ++h)
    out.emplace_back(t.data() + (r * H + h) * S, t.data() + (r * H + h + 1) * S);
  return out;
}

}  // namespace

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
      if (options.keep_head_attention) h.head_attention.push_back(head_rows(step.head_attention, static_cast<std::int64_t>(r)));
      if (best == Vocab::kEos) {
        h.ended = true;
        continue;
      }
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

double normalized_score(double log_prob, std::int64_t length, double alpha) {
  return alpha == 0.0 ? log_prob : log_prob / std::pow((5.0 + double(length)) / 6.0, alpha);
}

namespace {

struct Partial {
  std::vector<std::int32_t> tokens;
  double score = 0.0;
  std::vector<std::vector<float>> attention;
  std::vector<std::vector<std::vector<float>>> head_attention;
};

struct Finished {
  Hypothesis hypothesis;
  double ranking = 0.0;  // normalized score
};

}  // namespace

std::vector<Hypothesis> beam_decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                                    const DecodeOptions& options) {
  XSEQ_CHECK(options.beam >= 1, "beam size must be >= 1, got ", options.beam);
  NoGradGuard no_grad;
  const std::int64_t B = source.shape[0], K = options.beam;
  std::unique_ptr<DecoderState> state = model.encode(source, lengths);

  // Live rows: sentence `owner[r]` with partial hypothesis `beams[r]`. Every
  // sentence starts with one row (<s>); after the first step it holds up to K.
  std::vector<std::int64_t> owner(static_cast<std::size_t>(B));
  std::vector<Partial> beams(static_cast<std::size_t>(B));
  for (std::int64_t b = 0; b < B; ++b) owner[static_cast<std::size_t>(b)] = b;
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(B), Vocab::kBos);
  std::vector<std::vector<Finished>> finished(static_cast<std::size_t>(B));
  auto limit = [&](std::int64_t b) {
    return static_cast<std::int64_t>(options.max_len_ratio * double(lengths[static_cast<std::size_t>(b)])) +
           options.max_len_extra;
  };
  auto finish = [&](std::int64_t b, Partial p, std::int64_t length_with_eos) {
    Finished f;
    f.hypothesis.ended = length_with_eos > static_cast<std::int64_t>(p.tokens.size());
    f.ranking = normalized_score(p.score, length_with_eos, options.alpha);
    f.hypothesis.tokens = std::move(p.tokens);
    f.hypothesis.score = p.score;
    f.hypothesis.attention = std::move(p.attention);
    f.hypothesis.head_attention = std::move(p.head_attention);
    finished[static_cast<std::size_t>(b)].push_back(std::move(f));
  };

  while (!owner.empty()) {
    const DecodeStep step = model.step(*state, tokens);
    const std::int64_t V = step.log_probs.dim(1);
    const float* lp = step.log_probs.value().data();
    std::vector<std::int64_t> keep_rows;
    std::vector<std::int64_t> next_owner;
    std::vector<Partial> next_beams;
    std::vector<std::int32_t> next_tokens;
    // Rows of one sentence are contiguous; handle each sentence's rows together.
    for (std::size_t first = 0; first < owner.size();) {
      std::size_t last = first;
      while (last < owner.size() && owner[last] == owner[first]) ++last;
      const std::int64_t b = owner[first];
      // Candidates (score, row, token), best first; ties to the lower row and token
      // so that K = 1 picks exactly what greedy's max_element picks.
      std::vector<std::tuple<double, std::size_t, std::int32_t>> candidates;
      for (std::size_t r = first; r < last; ++r)
        for (std::int64_t v = 0; v < V; ++v)
          candidates.emplace_back(beams[r].score + double(lp[static_cast<std::int64_t>(r) * V + v]), r,
                                  static_cast<std::int32_t>(v));
      const std::size_t take = std::min<std::size_t>(candidates.size(), static_cast<std::size_t>(K));
      std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(take), candidates.end(),
                        [](const auto& x, const auto& y) {
                          if (std::get<0>(x) != std::get<0>(y)) return std::get<0>(x) > std::get<0>(y);
                          if (std::get<1>(x) != std::get<1>(y)) return std::get<1>(x) < std::get<1>(y);
                          return std::get<2>(x) < std::get<2>(y);
                        });
      // The K best extensions: those ending in </s> are finished, the others
      // live on (so the beam narrows as hypotheses finish).
      double best_live = -std::numeric_limits<double>::infinity();
      const std::size_t rows_before = next_owner.size();
      for (std::size_t c = 0; c < take; ++c) {
        const auto [score, r, v] = candidates[c];
        Partial p;
        p.tokens = beams[r].tokens;
        p.score = score;
        if (options.keep_attention) {
          p.attention = beams[r].attention;
          const Tensor& a = step.attention.value();
          p.attention.emplace_back(a.data() + static_cast<std::int64_t>(r) * a.dim(1),
                                   a.data() + (static_cast<std::int64_t>(r) + 1) * a.dim(1));
        }
        if (options.keep_head_attention) {
          p.head_attention = beams[r].head_attention;
          p.head_attention.push_back(head_rows(step.head_attention, static_cast<std::int64_t>(r)));
        }
        if (v == Vocab::kEos) {
          finish(b, std::move(p), static_cast<std::int64_t>(beams[r].tokens.size()) + 1);
          continue;
        }
        p.tokens.push_back(v);
        if (static_cast<std::int64_t>(p.tokens.size()) >= limit(b)) {
          finish(b, std::move(p), static_cast<std::int64_t>(p.tokens.size()));
          continue;
        }
        best_live = std::max(best_live, score);
        keep_rows.push_back(static_cast<std::int64_t>(r));
        next_owner.push_back(b);
        next_beams.push_back(std::move(p));
        next_tokens.push_back(v);
      }
      // Log-probabilities only fall as a hypothesis grows, and the length
      // penalty is largest at the length limit: no live hypothesis can end
      // above best_live / lp(limit). Stop once a finished one is at least that good.
      const auto& done = finished[static_cast<std::size_t>(b)];
      if (!done.empty() && next_owner.size() > rows_before) {
        double best_finished = -std::numeric_limits<double>::infinity();
        for (const auto& f : done) best_finished = std::max(best_finished, f.ranking);
        if (best_finished >= normalized_score(best_live, limit(b), options.alpha)) {
          next_owner.resize(rows_before);
          next_beams.resize(rows_before);
          next_tokens.resize(rows_before);
          keep_rows.resize(rows_before);
        }
      }
      first = last;
    }
    if (!keep_rows.empty()) state->select(keep_rows);
    owner = std::move(next_owner);
    beams = std::move(next_beams);
    tokens = std::move(next_tokens);
  }

  std::vector<Hypothesis> out(static_cast<std::size_t>(B));
  for (std::int64_t b = 0; b < B; ++b) {
    auto& list = finished[static_cast<std::size_t>(b)];
    XSEQ_CHECK(!list.empty(), "beam search: sentence ", b, " finished no hypothesis");
    const auto best = std::max_element(list.begin(), list.end(), [](const Finished& x, const Finished& y) {
      return x.ranking < y.ranking;  // the first of equal rankings wins
    });
    out[static_cast<std::size_t>(b)] = std::move(best->hypothesis);
  }
  return out;
}

std::vector<Hypothesis> decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                               const DecodeOptions& options) {
  return options.beam == 1 ? greedy_decode(model, source, lengths, options)
                           : beam_decode(model, source, lengths, options);
}

}  // namespace xseq
