#include "decode/scoring.hpp"

#include <algorithm>

#include "datasets/batching.hpp"
#include "datasets/vocab.hpp"
#include "framework/distributed_gather.hpp"
#include "framework/ops.hpp"

namespace xseq {

namespace {

// Adds each row's target log-probability under teacher forcing to `out`.
void score_batch(Seq2SeqModel& model, const Batch& b, std::vector<PairScore>& out) {
  const Tensor lp = log_softmax(model.logits(b.source, b.source_lengths, b.decoder_input, b.target_lengths)).value();
  const std::int64_t T = lp.dim(1), V = lp.dim(2);
  for (std::int64_t r = 0; r < b.size(); ++r) {
    PairScore& s = out[static_cast<std::size_t>(b.indices[static_cast<std::size_t>(r)])];
    s.tokens = b.target_lengths[static_cast<std::size_t>(r)];
    s.token_log_probs.resize(static_cast<std::size_t>(s.tokens));
    for (std::int64_t t = 0; t < s.tokens; ++t) {
      const std::int32_t target = b.decoder_output.data[static_cast<std::size_t>(r * T + t)];
      const float token = lp.data()[(r * T + t) * V + target];
      s.token_log_probs[static_cast<std::size_t>(t)] = token;
      s.log_prob += double(token);
    }
  }
}

// Every rank's scores of its rows [begin, end) into `out`, on every rank.
void gather_scores(Communicator& comm, std::vector<PairScore>& out, std::int64_t begin, std::int64_t end) {
  Packer p;
  p.put(begin);
  p.put(end);
  for (std::int64_t i = begin; i < end; ++i) {
    p.put(out[static_cast<std::size_t>(i)].log_prob);
    p.put(out[static_cast<std::size_t>(i)].tokens);
  }
  for (const std::string& bytes : comm.gather_all(p.bytes())) {
    Unpacker u(bytes);
    const std::int64_t b = u.integer(), e = u.integer();
    XSEQ_CHECK(0 <= b && b <= e && e <= std::int64_t(out.size()), "score: a rank sent rows [", b, ", ", e, ")");
    for (std::int64_t i = b; i < e; ++i) {
      out[static_cast<std::size_t>(i)].log_prob = u.real();
      out[static_cast<std::size_t>(i)].tokens = u.integer();
    }
  }
}

}  // namespace

std::vector<PairScore> score_corpus(Seq2SeqModel& model, const TokenizedCorpus& corpus, std::int64_t batch_size,
                                    Communicator* communicator) {
  XSEQ_CHECK(batch_size >= 1, "score: the batch size must be >= 1, got ", batch_size);
  NoGradGuard no_grad;
  PrecisionGuard precision(model.inference_precision());
  const bool was_training = model.training();
  model.eval();
  std::vector<PairScore> out(static_cast<std::size_t>(corpus.size()));
  const std::int64_t group = batch_size * 16, groups = (corpus.size() + group - 1) / group;
  Communicator* comm = communicator && communicator->size() > 1 ? communicator : nullptr;
  const auto [first, last] = comm ? contiguous_share(groups, *comm) : std::pair<std::int64_t, std::int64_t>{0, groups};
  std::vector<std::int64_t> rows, batch_rows;
  for (std::int64_t start = first * group; start < std::min(corpus.size(), last * group); start += group) {
    rows.clear();
    for (std::int64_t i = start; i < std::min(corpus.size(), start + group); ++i) rows.push_back(i);
    std::stable_sort(rows.begin(), rows.end(), [&](std::int64_t a, std::int64_t b) {
      return std::make_pair(corpus.target_length(a), corpus.source_length(a)) <
             std::make_pair(corpus.target_length(b), corpus.source_length(b));
    });
    const auto step = static_cast<std::size_t>(batch_size);
    for (std::size_t k = 0; k < rows.size(); k += step) {
      batch_rows.assign(rows.begin() + static_cast<std::ptrdiff_t>(k),
                        rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), k + step)));
      score_batch(model, make_batch(corpus, batch_rows), out);
    }
  }
  model.train(was_training);
  if (comm) gather_scores(*comm, out, std::min(corpus.size(), first * group), std::min(corpus.size(), last * group));
  return out;
}

}  // namespace xseq
