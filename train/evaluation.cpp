#include "train/evaluation.hpp"

#include "train/metrics.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace xseq {

std::int64_t edit_distance(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) {
  std::vector<std::int64_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<std::int64_t>(j);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<std::int64_t>(i);
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::map<std::string, double> evaluate(Seq2SeqModel& model, const TextPipeline& pipeline, const TokenizedCorpus& corpus,
                                       const ParallelText& text, const EvalOptions& options) {
  NoGradGuard no_grad;
  const bool was_training = model.training();
  model.eval();
  BatchOptions bo;
  bo.batch_size = options.batch_size;
  bo.shuffle = false;
  BatchIterator it(corpus, bo);
  if (options.hypotheses) options.hypotheses->assign(static_cast<std::size_t>(text.size()), "");
  std::vector<std::string> decoded_texts, reference_texts;
  double loss_sum = 0, tokens = 0, correct = 0, exact = 0, decoded = 0, errors = 0, reference_tokens = 0,
         generated = 0, decode_seconds = 0;
  for (std::int64_t k = 0; k < it.batches_per_epoch(); ++k) {
    const Batch b = it.next();
    const Variable logits = model.logits(b.source, b.source_lengths, b.decoder_input, b.target_lengths);
    const double n = double(b.target_tokens());
    loss_sum += double(cross_entropy(logits, b.decoder_output, Vocab::kPad).value().item()) * n;
    tokens += n;
    const std::int64_t V = logits.dim(2);
    const float* l = logits.value().data();
    for (std::int64_t i = 0; i < b.decoder_output.numel(); ++i) {
      const std::int32_t target = b.decoder_output.data[static_cast<std::size_t>(i)];
      if (target == Vocab::kPad) continue;
      correct += std::max_element(l + i * V, l + (i + 1) * V) - (l + i * V) == target;
    }
    if (options.max_sentences > 0 && decoded >= double(options.max_sentences)) continue;
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::int64_t> pairs;  // sampling draws from each pair's own stream
    for (auto i : b.indices) pairs.push_back(corpus.origin_index(i));
    const std::vector<Hypothesis> hyps = decode(model, b.source, b.source_lengths, options.decode, pairs);
    decode_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // The last batch may hold more rows than max_sentences still wants: count only those.
    const std::size_t take = options.max_sentences > 0
                                 ? std::min(hyps.size(), static_cast<std::size_t>(double(options.max_sentences) - decoded))
                                 : hyps.size();
    for (std::size_t r = 0; r < take; ++r) {
      const std::int64_t i = b.indices[r], pair = corpus.origin_index(i);
      const std::string out = pipeline.detokenize(hyps[r].tokens);
      if (options.hypotheses) (*options.hypotheses)[static_cast<std::size_t>(pair)] = out;
      exact += out == text.target(pair);
      decoded_texts.push_back(out);
      reference_texts.emplace_back(text.target(pair));
      std::vector<std::int32_t> reference(static_cast<std::size_t>(corpus.target_length(i)));
      corpus.target().copy(i, reference.data());
      errors += double(edit_distance(hyps[r].tokens, reference));
      reference_tokens += double(reference.size());
      generated += double(hyps[r].tokens.size()) + (hyps[r].ended ? 1.0 : 0.0);
      decoded += 1;
    }
  }
  model.train(was_training);
  std::map<std::string, double> m{{"loss", loss_sum / tokens},
                                  {"perplexity", std::exp(loss_sum / tokens)},
                                  {"token_accuracy", correct / tokens}};
  if (decoded > 0) {
    m["exact_match"] = exact / decoded;
    m["token_error_rate"] = errors / std::max(1.0, reference_tokens);
    m["bleu"] = corpus_bleu(decoded_texts, reference_texts);
    m["chrf"] = corpus_chrf(decoded_texts, reference_texts);
    m["sentences"] = decoded;
    m["sentences_per_s"] = decoded / std::max(decode_seconds, 1e-9);
    m["tokens_per_s"] = generated / std::max(decode_seconds, 1e-9);
  }
  return m;
}

namespace {

// Adds each row's target log-probability under teacher forcing to `out`.
void score_batch(Seq2SeqModel& model, const Batch& b, std::vector<PairScore>& out) {
  const Tensor lp = log_softmax(model.logits(b.source, b.source_lengths, b.decoder_input, b.target_lengths)).value();
  const std::int64_t T = lp.dim(1), V = lp.dim(2);
  for (std::int64_t r = 0; r < b.size(); ++r) {
    PairScore& s = out[static_cast<std::size_t>(b.indices[static_cast<std::size_t>(r)])];
    s.tokens = b.target_lengths[static_cast<std::size_t>(r)];
    for (std::int64_t t = 0; t < s.tokens; ++t) {
      const std::int32_t target = b.decoder_output.data[static_cast<std::size_t>(r * T + t)];
      s.log_prob += double(lp.data()[(r * T + t) * V + target]);
    }
  }
}

}  // namespace

std::vector<PairScore> score_corpus(Seq2SeqModel& model, const TokenizedCorpus& corpus, std::int64_t batch_size) {
  XSEQ_CHECK(batch_size >= 1, "score: the batch size must be >= 1, got ", batch_size);
  NoGradGuard no_grad;
  const bool was_training = model.training();
  model.eval();
  std::vector<PairScore> out(static_cast<std::size_t>(corpus.size()));
  const std::int64_t group = batch_size * 16;
  std::vector<std::int64_t> rows, batch_rows;
  for (std::int64_t start = 0; start < corpus.size(); start += group) {
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
  return out;
}

}  // namespace xseq
