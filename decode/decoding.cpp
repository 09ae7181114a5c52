#include "decode/decoding.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <tuple>

#include "datasets/vocab.hpp"
#include "decode/sampling.hpp"

static_assert(xseq::kSourceEosId == xseq::Vocab::kEos, "model.source_eos must append the vocabularies' </s>");

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

std::vector<Hypothesis> pick_decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                                    const DecodeOptions& options, const TokenPicker& pick) {
  NoGradGuard no_grad;
  PrecisionGuard precision(model.inference_precision());
  const std::int64_t B = source.shape[0];
  std::vector<Hypothesis> out(static_cast<std::size_t>(B));
  std::unique_ptr<DecoderState> state = model.encode(source, lengths);
  state->keep_attention = options.keep_attention || options.keep_head_attention;
  std::vector<std::int64_t> active(static_cast<std::size_t>(B));  // original row of each live row
  for (std::int64_t b = 0; b < B; ++b) active[static_cast<std::size_t>(b)] = b;
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(B), Vocab::kBos);
  std::vector<std::int64_t> limit(static_cast<std::size_t>(B));
  for (std::int64_t b = 0; b < B; ++b) limit[static_cast<std::size_t>(b)] = output_limit(options, lengths[std::size_t(b)]);

  for (std::int64_t t = 0; !active.empty(); ++t) {
    const DecodeStep step = model.step(*state, tokens);
    const std::int64_t V = step.log_probs.dim(1);
    const float* lp = step.log_probs.value().data();
    std::vector<std::int64_t> keep;
    std::vector<std::int32_t> next;
    for (std::size_t r = 0; r < active.size(); ++r) {
      const float* row = lp + static_cast<std::int64_t>(r) * V;
      const std::int32_t best = pick(row, V, active[r]);
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

std::vector<Hypothesis> greedy_decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                                      const DecodeOptions& options) {
  return pick_decode(model, source, lengths, options, [](const float* row, std::int64_t V, std::int64_t) {
    return static_cast<std::int32_t>(std::max_element(row, row + V) - row);
  });
}

std::int64_t output_limit(const DecodeOptions& o, std::int64_t source_length) {
  std::int64_t limit = static_cast<std::int64_t>(o.max_len_ratio * double(source_length)) + o.max_len_extra;
  if (o.max_len > 0 && limit > o.max_len) limit = o.max_len;
  return limit < 1 ? 1 : limit;
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

// One beam search over a batch. Live rows: sentence `owner_[r]` with partial
// hypothesis `beams_[r]`; every sentence starts with one row (<s>) and holds up
// to K after the first step. Rows of one sentence are contiguous.
class BeamSearch {
 public:
  BeamSearch(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths, const DecodeOptions& options)
      : model_(model), lengths_(lengths), o_(options) {
    XSEQ_CHECK(options.beam >= 1, "beam size must be >= 1, got ", options.beam);
    XSEQ_CHECK(options.n_best >= 1 && options.n_best <= options.beam, "n-best must be in [1, beam size ",
               options.beam, "], got ", options.n_best);
    const std::int64_t B = source.shape[0];
    state_ = model.encode(source, lengths);
    state_->keep_attention = options.keep_attention || options.keep_head_attention;
    owner_.resize(static_cast<std::size_t>(B));
    for (std::int64_t b = 0; b < B; ++b) owner_[static_cast<std::size_t>(b)] = b;
    beams_.resize(static_cast<std::size_t>(B));
    tokens_.assign(static_cast<std::size_t>(B), Vocab::kBos);
    finished_.resize(static_cast<std::size_t>(B));
  }

  std::vector<std::vector<Hypothesis>> run() {
    while (!owner_.empty()) {
      const DecodeStep step = model_.step(*state_, tokens_);
      keep_rows_.clear();
      next_owner_.clear();
      next_beams_.clear();
      next_tokens_.clear();
      for (std::size_t first = 0; first < owner_.size();) {
        std::size_t last = first;
        while (last < owner_.size() && owner_[last] == owner_[first]) ++last;
        extend_sentence(first, last, step);
        first = last;
      }
      if (!keep_rows_.empty()) state_->select(keep_rows_);
      std::swap(owner_, next_owner_);
      std::swap(beams_, next_beams_);
      std::swap(tokens_, next_tokens_);
    }
    for (std::size_t b = 0; b < finished_.size(); ++b) {
      auto& list = finished_[b];
      XSEQ_CHECK(!list.empty(), "beam search: sentence ", b, " finished no hypothesis");
      // Best first; of equal scores, the one that finished first.
      std::stable_sort(list.begin(), list.end(),
                       [](const Hypothesis& x, const Hypothesis& y) { return x.normalized > y.normalized; });
      if (list.size() > static_cast<std::size_t>(o_.n_best)) list.resize(static_cast<std::size_t>(o_.n_best));
    }
    return std::move(finished_);
  }

 private:
  std::int64_t limit(std::int64_t b) const { return output_limit(o_, lengths_[static_cast<std::size_t>(b)]); }

  void finish(std::int64_t b, Partial p, std::int64_t length_with_eos) {
    Hypothesis h;
    h.ended = length_with_eos > static_cast<std::int64_t>(p.tokens.size());
    h.normalized = normalized_score(p.score, length_with_eos, o_.alpha);
    h.tokens = std::move(p.tokens);
    h.score = p.score;
    h.attention = std::move(p.attention);
    h.head_attention = std::move(p.head_attention);
    finished_[static_cast<std::size_t>(b)].push_back(std::move(h));
  }

  // The K best extensions of sentence owner_[first]'s rows [first, last): those
  // ending in </s> (or at the length limit) are finished, the others live on (so
  // the beam narrows as hypotheses finish).
  void extend_sentence(std::size_t first, std::size_t last, const DecodeStep& step) {
    const std::int64_t b = owner_[first], V = step.log_probs.dim(1);
    const float* lp = step.log_probs.value().data();
    // Candidates (score, row, token), best first; ties to the lower row and token
    // so that K = 1 picks exactly what greedy's max_element picks.
    candidates_.clear();
    for (std::size_t r = first; r < last; ++r)
      for (std::int64_t v = 0; v < V; ++v)
        candidates_.emplace_back(beams_[r].score + double(lp[static_cast<std::int64_t>(r) * V + v]), r,
                                 static_cast<std::int32_t>(v));
    const std::size_t take = std::min<std::size_t>(candidates_.size(), static_cast<std::size_t>(o_.beam));
    std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(take), candidates_.end(),
                      [](const auto& x, const auto& y) {
                        if (std::get<0>(x) != std::get<0>(y)) return std::get<0>(x) > std::get<0>(y);
                        if (std::get<1>(x) != std::get<1>(y)) return std::get<1>(x) < std::get<1>(y);
                        return std::get<2>(x) < std::get<2>(y);
                      });
    double best_live = -std::numeric_limits<double>::infinity();
    const std::size_t rows_before = next_owner_.size();
    for (std::size_t c = 0; c < take; ++c) {
      const auto [score, r, v] = candidates_[c];
      Partial p;
      p.tokens = beams_[r].tokens;
      p.score = score;
      if (o_.keep_attention) {
        p.attention = beams_[r].attention;
        const Tensor& a = step.attention.value();
        p.attention.emplace_back(a.data() + static_cast<std::int64_t>(r) * a.dim(1),
                                 a.data() + (static_cast<std::int64_t>(r) + 1) * a.dim(1));
      }
      if (o_.keep_head_attention) {
        p.head_attention = beams_[r].head_attention;
        p.head_attention.push_back(head_rows(step.head_attention, static_cast<std::int64_t>(r)));
      }
      if (v == Vocab::kEos) {
        finish(b, std::move(p), static_cast<std::int64_t>(beams_[r].tokens.size()) + 1);
        continue;
      }
      p.tokens.push_back(v);
      if (static_cast<std::int64_t>(p.tokens.size()) >= limit(b)) {
        finish(b, std::move(p), static_cast<std::int64_t>(p.tokens.size()));
        continue;
      }
      best_live = std::max(best_live, score);
      keep_rows_.push_back(static_cast<std::int64_t>(r));
      next_owner_.push_back(b);
      next_beams_.push_back(std::move(p));
      next_tokens_.push_back(v);
    }
    if (next_owner_.size() > rows_before && done(b, best_live)) {
      next_owner_.resize(rows_before);
      next_beams_.resize(rows_before);
      next_tokens_.resize(rows_before);
      keep_rows_.resize(rows_before);
    }
  }

  // Log-probabilities only fall as a hypothesis grows, and the length penalty is
  // largest at the length limit: no live hypothesis can end above
  // best_live / lp(limit). Sentence b is done once its n_best-th finished
  // hypothesis is at least that good.
  bool done(std::int64_t b, double best_live) {
    const auto& list = finished_[static_cast<std::size_t>(b)];
    const auto n = static_cast<std::size_t>(o_.n_best);
    if (list.size() < n) return false;
    rankings_.clear();
    for (const auto& h : list) rankings_.push_back(h.normalized);
    std::nth_element(rankings_.begin(), rankings_.begin() + static_cast<std::ptrdiff_t>(n - 1), rankings_.end(),
                     std::greater<double>());
    return rankings_[n - 1] >= normalized_score(best_live, limit(b), o_.alpha);
  }

  Seq2SeqModel& model_;
  const Lengths& lengths_;
  const DecodeOptions& o_;
  std::unique_ptr<DecoderState> state_;
  std::vector<std::int64_t> owner_, next_owner_, keep_rows_;
  std::vector<Partial> beams_, next_beams_;
  std::vector<std::int32_t> tokens_, next_tokens_;
  std::vector<std::vector<Hypothesis>> finished_;
  std::vector<std::tuple<double, std::size_t, std::int32_t>> candidates_;  // reused across sentences and steps
  std::vector<double> rankings_;
};

}  // namespace

std::vector<std::vector<Hypothesis>> beam_decode_nbest(Seq2SeqModel& model, const IndexTensor& source,
                                                       const Lengths& lengths, const DecodeOptions& options) {
  NoGradGuard no_grad;
  PrecisionGuard precision(model.inference_precision());
  return BeamSearch(model, source, lengths, options).run();
}

std::vector<Hypothesis> beam_decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                                    const DecodeOptions& options) {
  DecodeOptions one = options;
  one.n_best = 1;
  std::vector<std::vector<Hypothesis>> lists = beam_decode_nbest(model, source, lengths, one);
  std::vector<Hypothesis> out(lists.size());
  for (std::size_t b = 0; b < lists.size(); ++b) out[b] = std::move(lists[b][0]);
  return out;
}

std::vector<Hypothesis> decode(Seq2SeqModel& model, const IndexTensor& source, const Lengths& lengths,
                               const DecodeOptions& options, const std::vector<std::int64_t>& sentence_ids) {
  if (options.sample) {
    if (!sentence_ids.empty()) return sample_decode(model, source, lengths, options, sentence_ids);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(source.shape[0]));
    for (std::size_t b = 0; b < ids.size(); ++b) ids[b] = static_cast<std::int64_t>(b);
    return sample_decode(model, source, lengths, options, ids);
  }
  return options.beam == 1 ? greedy_decode(model, source, lengths, options)
                           : beam_decode(model, source, lengths, options);
}

}  // namespace xseq
