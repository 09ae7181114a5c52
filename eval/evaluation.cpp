#include "eval/evaluation.hpp"

#include "framework/distributed_gather.hpp"
#include "eval/metrics.hpp"

#include <cstdio>

#include "decode/ensemble.hpp"
#include "framework/distributed.hpp"
#include "framework/parallel.hpp"

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

namespace {

// One decoded pair's contribution to the metrics.
struct DecodedPair {
  std::int64_t pair = 0;  ///< index into the ParallelText
  std::string text;       ///< detokenised hypothesis
  double errors = 0, reference_tokens = 0, generated = 0;
};

// What one batch adds to the metrics. The sums over batches are taken in batch
// order (evaluate below), so a set evaluated in shards by several ranks and
// gathered gives the metrics of one process bit for bit.
struct BatchTally {
  double loss_sum = 0, tokens = 0, correct = 0;
  std::vector<DecodedPair> decoded;
};

// Teacher-forced loss and accuracy of batch b, and the decoding of its first
// `take` rows (the sentences max_sentences still wants).
BatchTally tally_batch(Seq2SeqModel& model, const TextPipeline& pipeline, const TokenizedCorpus& corpus, const Batch& b,
                       const DecodeOptions& decode_options, std::size_t take, double& decode_seconds) {
  BatchTally t;
  const Variable logits = model.logits(b.source, b.source_lengths, b.decoder_input, b.target_lengths);
  const double n = double(b.target_tokens());
  t.loss_sum = double(cross_entropy(logits, b.decoder_output, Vocab::kPad).value().item()) * n;
  t.tokens = n;
  const std::int64_t V = logits.dim(2);
  const float* l = logits.value().data();
  for (std::int64_t i = 0; i < b.decoder_output.numel(); ++i) {
    const std::int32_t target = b.decoder_output.data[static_cast<std::size_t>(i)];
    if (target == Vocab::kPad) continue;
    t.correct += std::max_element(l + i * V, l + (i + 1) * V) - (l + i * V) == target;
  }
  if (take == 0) return t;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::int64_t> pairs;  // sampling draws from each pair's own stream
  for (auto i : b.indices) pairs.push_back(corpus.origin_index(i));
  const std::vector<Hypothesis> hyps = decode(model, b.source, b.source_lengths, decode_options, pairs);
  decode_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (std::size_t r = 0; r < std::min(take, hyps.size()); ++r) {
    const std::int64_t i = b.indices[r];
    DecodedPair d;
    d.pair = corpus.origin_index(i);
    d.text = pipeline.detokenize(hyps[r].tokens);
    std::vector<std::int32_t> reference(static_cast<std::size_t>(corpus.target_length(i)));
    corpus.target().copy(i, reference.data());
    d.errors = double(edit_distance(hyps[r].tokens, reference));
    d.reference_tokens = double(reference.size());
    d.generated = double(hyps[r].tokens.size()) + (hyps[r].ended ? 1.0 : 0.0);
    t.decoded.push_back(std::move(d));
  }
  return t;
}

void pack(Packer& p, const BatchTally& t) {
  p.put(t.loss_sum);
  p.put(t.tokens);
  p.put(t.correct);
  p.put(static_cast<std::int64_t>(t.decoded.size()));
  for (const auto& d : t.decoded) {
    p.put(d.pair);
    p.put(d.text);
    p.put(d.errors);
    p.put(d.reference_tokens);
    p.put(d.generated);
  }
}

BatchTally unpack_tally(Unpacker& u) {
  BatchTally t;
  t.loss_sum = u.real();
  t.tokens = u.real();
  t.correct = u.real();
  t.decoded.resize(static_cast<std::size_t>(u.integer()));
  for (auto& d : t.decoded) {
    d.pair = u.integer();
    d.text = u.text();
    d.errors = u.real();
    d.reference_tokens = u.real();
    d.generated = u.real();
  }
  return t;
}

// Every rank's tallies, in rank order (= batch order, the shares being contiguous),
// on every rank; decode_seconds becomes the slowest rank's (the wall time).
std::vector<BatchTally> gather_tallies(Communicator& comm, const std::vector<BatchTally>& mine,
                                       double& decode_seconds) {
  Packer p;
  p.put(decode_seconds);
  p.put(static_cast<std::int64_t>(mine.size()));
  for (const auto& t : mine) pack(p, t);
  std::vector<BatchTally> all;
  for (const std::string& bytes : comm.gather_all(p.bytes())) {
    Unpacker u(bytes);
    decode_seconds = std::max(decode_seconds, u.real());
    const std::int64_t n = u.integer();
    for (std::int64_t k = 0; k < n; ++k) all.push_back(unpack_tally(u));
    XSEQ_CHECK(u.done(), "evaluate: a rank's gathered results have trailing bytes");
  }
  return all;
}

// The metrics of the tallies, summed in their order.
std::map<std::string, double> metrics_of(const std::vector<BatchTally>& tallies, const ParallelText& text,
                                         double decode_seconds, std::vector<std::string>* hypotheses) {
  std::vector<std::string> decoded_texts, reference_texts;
  double loss_sum = 0, tokens = 0, correct = 0, exact = 0, decoded = 0, errors = 0, reference_tokens = 0,
         generated = 0;
  for (const BatchTally& t : tallies) {
    loss_sum += t.loss_sum;
    tokens += t.tokens;
    correct += t.correct;
    for (const DecodedPair& d : t.decoded) {
      if (hypotheses) (*hypotheses)[static_cast<std::size_t>(d.pair)] = d.text;
      exact += d.text == text.target(d.pair);
      decoded_texts.push_back(d.text);
      reference_texts.emplace_back(text.target(d.pair));
      errors += d.errors;
      reference_tokens += d.reference_tokens;
      generated += d.generated;
      decoded += 1;
    }
  }
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

}  // namespace

std::map<std::string, double> evaluate(Seq2SeqModel& model, const TextPipeline& pipeline, const TokenizedCorpus& corpus,
                                       const ParallelText& text, const EvalOptions& options) {
  NoGradGuard no_grad;
  PrecisionGuard precision(model.inference_precision());
  const bool was_training = model.training();
  model.eval();
  BatchOptions bo;
  bo.batch_size = options.batch_size;
  bo.shuffle = false;
  const BatchIterator it(corpus, bo);
  const auto& plan = it.plan();
  if (options.hypotheses) options.hypotheses->assign(static_cast<std::size_t>(text.size()), "");
  Communicator* comm = options.communicator && options.communicator->size() > 1 ? options.communicator : nullptr;
  const auto [begin, end] = comm ? contiguous_share(std::int64_t(plan.size()), *comm)
                                 : std::pair<std::int64_t, std::int64_t>{0, std::int64_t(plan.size())};
  std::int64_t rows_before = 0;  // rows of the batches before this one (max_sentences counts them)
  for (std::int64_t k = 0; k < begin; ++k) rows_before += std::int64_t(plan[std::size_t(k)].size());
  std::vector<BatchTally> tallies;
  double decode_seconds = 0;
  for (std::int64_t k = begin; k < end; ++k) {
    const Batch b = make_batch(corpus, plan[static_cast<std::size_t>(k)]);
    // The last batch may hold more rows than max_sentences still wants: decode only those.
    const std::int64_t wanted =
        options.max_sentences > 0 ? std::max<std::int64_t>(0, options.max_sentences - rows_before) : b.size();
    tallies.push_back(tally_batch(model, pipeline, corpus, b, options.decode,
                                  static_cast<std::size_t>(std::min(wanted, b.size())), decode_seconds));
    rows_before += b.size();
  }
  model.train(was_training);
  if (comm) tallies = gather_tallies(*comm, tallies, decode_seconds);
  return metrics_of(tallies, text, decode_seconds, options.hypotheses);
}

// The test pairs as ids; sides longer than max_input are cut (and counted) so that
// no line can make evaluation run out of memory.
namespace {
TokenizedCorpus encode_test_set(const TrainedModel& l, const ParallelText& text, std::int64_t max_input, bool tell) {
  EncodeOptions eo;
  eo.max_len = max_input;
  eo.over_long = OverLong::truncate;
  EncodeReport report;
  TokenizedCorpus corpus = encode_corpus(text, l.pipeline.source_side(), l.pipeline.target_side(), l.pipeline.source_vocab,
                                         l.pipeline.target_vocab, eo, &report);
  if (report.truncated > 0 && tell)
    std::fprintf(stderr, "%s: %lld pairs had a side longer than --max-input %lld tokens and were truncated\n",
                 text.origin().c_str(), static_cast<long long>(report.truncated), static_cast<long long>(max_input));
  return corpus;
}
}  // namespace

std::map<std::string, double> evaluate_test_set(const std::vector<std::string>& checkpoints, const std::string& data,
                                                const TestSetOptions& o) {
  TrainedModel l = load_ensemble(checkpoints);
  set_num_threads(o.threads >= 0 ? o.threads : static_cast<int>(l.config.train.threads));
  const ParallelText text = read_corpus(data);
  const std::int64_t max_input = o.max_input > 0 ? o.max_input : l.config.data.max_len > 0 ? l.config.data.max_len : 1024;
  const bool rank0 = o.communicator == nullptr || o.communicator->rank() == 0;
  const TokenizedCorpus corpus = encode_test_set(l, text, max_input, o.tell && rank0);
  set_model_precision(*l.model, o.precision.empty() ? l.model->inference_precision()
                                                    : parse_precision(o.precision, "--precision"));
  if (o.precision_used) *o.precision_used = precision_name(l.model->inference_precision());
  EvalOptions eo;
  eo.batch_size = o.batch_size;
  eo.decode = o.decode;
  eo.hypotheses = o.hypotheses;
  eo.communicator = o.communicator;
  return evaluate(*l.model, l.pipeline, corpus, text, eo);
}

}  // namespace xseq
