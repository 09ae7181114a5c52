#include "decode/translator.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <numeric>

#include "datasets/batching.hpp"
#include "datasets/utf8.hpp"
#include "decode/decoding.hpp"
#include "decode/ensemble.hpp"
#include "decode/scoring.hpp"
#include "decode/trained_model.hpp"

namespace xseq {
namespace {

// --max-input when neither the option nor the model's data.max_len sets it.
constexpr std::int64_t kDefaultMaxInput = 1024;

// Sets this thread's OpenMP thread count for one call and restores it: another
// thread's (another Translator's) count is a separate setting.
class ThreadCountScope {
 public:
  explicit ThreadCountScope(int threads) : previous_(omp_get_max_threads()) { omp_set_num_threads(threads); }
  ~ThreadCountScope() { omp_set_num_threads(previous_); }
  ThreadCountScope(const ThreadCountScope&) = delete;
  ThreadCountScope& operator=(const ThreadCountScope&) = delete;

 private:
  int previous_;
};

// A copy of `model` built from its config that shares its weights (decoding
// never writes them): each worker gets one, so that calls running at once never
// touch the same layer state.
std::shared_ptr<Seq2SeqModel> share_weights(const TrainedModel& t, const Seq2SeqModel& model) {
  Rng rng(0);
  auto copy = make_model(t.config.model, t.pipeline.source_vocab.size(), t.pipeline.target_vocab.size(), rng);
  const auto from = model.named_parameters();
  const auto to = copy->named_parameters();
  XSEQ_CHECK(from.size() == to.size(), "translator: a rebuilt model has ", to.size(), " parameters, the loaded one ",
             from.size());
  for (std::size_t i = 0; i < from.size(); ++i) {
    to[i].variable.mutable_value() = from[i].variable.value();
    to[i].variable.set_int8_weights(from[i].variable.impl()->int8);  // shared too
  }
  copy->set_inference_precision(model.inference_precision());
  copy->eval();
  return copy;
}

// One loaded model of an ensemble (or the only one).
TrainedModel load_checkpoint(const std::string& path) {
  if (!std::filesystem::exists(path)) throw CheckpointError("checkpoint '" + path + "' does not exist", true);
  try {
    return load_trained_model(path);
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    throw CheckpointError(e.what());
  }
}

}  // namespace

DecodeOptions decode_options(const SearchOptions& s) {
  DecodeOptions o;
  o.beam = s.beam;
  o.n_best = s.n_best;
  o.alpha = s.alpha;
  o.max_len_ratio = s.max_len_ratio;
  o.max_len_extra = s.max_len_extra;
  o.max_len = s.max_len;
  o.sample = s.sample;
  o.temperature = s.temperature;
  o.top_k = s.top_k;
  o.top_p = s.top_p;
  o.seed = s.seed;
  o.keep_attention = s.attention;
  o.keep_head_attention = s.attention;
  return o;
}

void SearchOptions::validate() const {
  XSEQ_CHECK_AS(OptionError, beam >= 1 && beam <= 256, "beam must be in [1, 256], got ", beam);
  XSEQ_CHECK_AS(OptionError, n_best >= 1 && n_best <= beam, "n_best ", n_best, " needs a beam of at least ", n_best,
                " (got beam ", beam, ")");
  XSEQ_CHECK_AS(OptionError, std::isfinite(alpha) && alpha >= 0 && alpha <= 10, "alpha must be in [0, 10], got ",
                alpha);
  XSEQ_CHECK_AS(OptionError, std::isfinite(max_len_ratio) && max_len_ratio >= 0 && max_len_ratio <= 1000,
                "max_len_ratio must be in [0, 1000], got ", max_len_ratio);
  XSEQ_CHECK_AS(OptionError, max_len_extra >= 0 && max_len_extra <= (1 << 20), "max_len_extra must be in [0, ",
                1 << 20, "], got ", max_len_extra);
  XSEQ_CHECK_AS(OptionError, max_len >= 0 && max_len <= (1 << 20), "max_len must be in [0, ", 1 << 20, "], got ",
                max_len);
  XSEQ_CHECK_AS(OptionError, !sample || beam == 1, "sample draws one output per sentence: it cannot be combined with "
                "beam ", beam);
  XSEQ_CHECK_AS(OptionError, !sample || n_best == 1, "sample cannot be combined with n_best ", n_best,
                " (n-best lists are beam search's)");
  XSEQ_CHECK_AS(OptionError, std::isfinite(temperature) && temperature > 0 && temperature <= 1e6,
                "temperature must be in (0, 1e6], got ", temperature);
  XSEQ_CHECK_AS(OptionError, top_k >= 0, "top_k must be >= 0 (0 = all tokens), got ", top_k);
  XSEQ_CHECK_AS(OptionError, std::isfinite(top_p) && top_p > 0 && top_p <= 1, "top_p must be in (0, 1], got ",
                top_p);
}

void TranslatorOptions::validate() const {
  SearchOptions::validate();
  XSEQ_CHECK_AS(OptionError, threads >= -1 && threads <= 1024,
                "threads must be -1 (the checkpoint's train.threads), 0 (all cores) or up to 1024, got ", threads);
  XSEQ_CHECK_AS(OptionError, workers >= 1 && workers <= 1024, "workers must be in [1, 1024], got ", workers);
  XSEQ_CHECK_AS(OptionError, batch_size >= 1 && batch_size <= 65536, "batch_size must be in [1, 65536], got ",
                batch_size);
  XSEQ_CHECK_AS(OptionError, batch_tokens >= 0, "batch_tokens must be >= 0 (0 = batches by sentences), got ",
                batch_tokens);
  XSEQ_CHECK_AS(OptionError, max_input >= 0 && max_input <= (std::int64_t(1) << 20), "max_input must be in [0, ",
                std::int64_t(1) << 20, "] (0 = the model's data.max_len), got ", max_input);
  XSEQ_CHECK_AS(OptionError, precision.empty() || is_precision_name(precision),
                "precision must be fp32, bf16, int8 or empty (the checkpoint's), got '", precision, "'");
}

struct Translator::Impl {
  TranslatorOptions options;
  std::vector<std::string> paths;
  TrainedModel loaded;  // config, pipeline and the first worker's model
  std::int64_t max_input = kDefaultMaxInput;
  int threads = 0;
  // The worker pool: one model per worker, handed to one call at a time.
  std::vector<std::shared_ptr<Seq2SeqModel>> models;
  std::vector<std::size_t> free;
  std::mutex mutex;
  std::condition_variable available;

  // A model for the duration of one call.
  class Lease {
   public:
    explicit Lease(Impl& impl) : impl_(impl) {
      std::unique_lock<std::mutex> lock(impl_.mutex);
      impl_.available.wait(lock, [&] { return !impl_.free.empty(); });
      slot_ = impl_.free.back();
      impl_.free.pop_back();
    }
    ~Lease() {
      {
        std::lock_guard<std::mutex> lock(impl_.mutex);
        impl_.free.push_back(slot_);
      }
      impl_.available.notify_one();
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Seq2SeqModel& model() const { return *impl_.models[slot_]; }

   private:
    Impl& impl_;
    std::size_t slot_ = 0;
  };

  void load();
  std::vector<std::int32_t> source_ids(const std::vector<std::string>& tokens, Translation& t) const;
  std::vector<Translation> run(std::vector<std::vector<std::string>> sources, const SearchOptions& search,
                               std::int64_t first_index);
  std::vector<std::vector<std::int64_t>> batches(const TokenizedCorpus& corpus, const std::vector<std::int64_t>& rows) const;
  Translation to_translation(const Hypothesis& h, const SearchOptions& search, const Translation& source) const;
};

void Translator::Impl::load() {
  XSEQ_CHECK_AS(OptionError, !paths.empty(), "Translator: give at least one checkpoint");
  std::vector<TrainedModel> members;
  for (const auto& p : paths) members.push_back(load_checkpoint(p));
  loaded = members[0];
  if (members.size() > 1) {
    try {
      loaded = load_ensemble(paths);  // checks that the pipelines agree
    } catch (const std::exception& e) {
      throw CheckpointError(e.what());
    }
  }
  max_input = options.max_input > 0 ? options.max_input
              : loaded.config.data.max_len > 0 ? loaded.config.data.max_len
                                                : kDefaultMaxInput;
  threads = options.threads >= 0 ? options.threads : static_cast<int>(loaded.config.train.threads);
  if (threads <= 0) threads = omp_get_num_procs();
  // By default the first checkpoint's: int8 for a quantised one, else fp32.
  const Precision precision = options.precision.empty() ? members[0].model->inference_precision()
                                                        : parse_precision(options.precision, "precision");
  const auto set_precision = [&](Seq2SeqModel& m) {
    try {
      set_model_precision(m, precision);
    } catch (const std::exception& e) {
      throw OptionError(e.what());
    }
  };
  set_precision(*loaded.model);
  models.push_back(loaded.model);
  for (int w = 1; w < options.workers; ++w) {
    if (members.size() == 1) {
      models.push_back(share_weights(loaded, *loaded.model));
      continue;
    }
    std::vector<std::shared_ptr<Seq2SeqModel>> copies;
    for (const auto& m : members) copies.push_back(share_weights(m, *m.model));
    auto ensemble = std::make_shared<EnsembleModel>(std::move(copies));
    ensemble->eval();
    set_precision(*ensemble);
    models.push_back(ensemble);
  }
  for (std::size_t w = models.size(); w-- > 0;) free.push_back(w);
}

std::vector<std::int32_t> Translator::Impl::source_ids(const std::vector<std::string>& tokens, Translation& t) const {
  std::vector<std::int32_t> ids;
  ids.reserve(tokens.size());
  for (const auto& token : tokens) {
    ids.push_back(loaded.pipeline.source_vocab.id(token));
    t.unknown += ids.back() == Vocab::kUnk;
  }
  return ids;
}

// Batches of up to batch_size sentences (or batch_tokens source tokens), the
// rows sorted by length so that little padding is decoded. Decoding is
// batch-invariant, so the grouping changes no output.
std::vector<std::vector<std::int64_t>> Translator::Impl::batches(const TokenizedCorpus& corpus,
                                                                  const std::vector<std::int64_t>& rows) const {
  std::vector<std::int64_t> sorted = rows;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](std::int64_t a, std::int64_t b) { return corpus.source_length(a) < corpus.source_length(b); });
  std::vector<std::vector<std::int64_t>> out;
  std::int64_t longest = 0;
  for (std::int64_t r : sorted) {
    const std::int64_t length = std::max<std::int64_t>(corpus.source_length(r), 1);
    const bool full = !out.empty() &&
                      (options.batch_tokens > 0
                           ? std::max(longest, length) * std::int64_t(out.back().size() + 1) > options.batch_tokens
                           : std::int64_t(out.back().size()) >= options.batch_size);
    if (out.empty() || full) {
      out.emplace_back();
      longest = 0;
    }
    out.back().push_back(r);
    longest = std::max(longest, length);
  }
  return out;
}

Translation Translator::Impl::to_translation(const Hypothesis& h, const SearchOptions& search,
                                             const Translation& source) const {
  Translation t;
  t.text = loaded.pipeline.detokenize(h.tokens);
  for (auto id : h.tokens) t.tokens.push_back(loaded.pipeline.target_vocab.token(id));
  t.score = h.score;
  t.ended = h.ended;
  t.normalized_score = normalized_score(h.score, std::int64_t(h.tokens.size()) + (h.ended ? 1 : 0), search.alpha);
  if (search.attention) {  // cropped to the source tokens (no model.source_eos column)
    const std::size_t S = source.source_tokens.size();
    for (const auto& row : h.attention) t.attention.emplace_back(row.begin(), row.begin() + std::min(S, row.size()));
    for (const auto& per_token : h.head_attention) {
      t.head_attention.emplace_back();
      for (const auto& row : per_token)
        t.head_attention.back().emplace_back(row.begin(), row.begin() + std::min(S, row.size()));
    }
  }
  return t;
}

std::vector<Translation> Translator::Impl::run(std::vector<std::vector<std::string>> sources,
                                               const SearchOptions& search, std::int64_t first_index) {
  search.validate();
  std::vector<Translation> out(sources.size());
  TokenizedCorpus corpus;
  std::vector<std::int64_t> rows;  // the non-empty sources, by corpus row = their index
  for (std::size_t i = 0; i < sources.size(); ++i) {
    Translation& t = out[i];
    std::vector<std::string>& tokens = sources[i];
    if (std::int64_t(tokens.size()) > max_input) {
      XSEQ_CHECK_AS(InputError, options.truncate, "source ", i, " has ", tokens.size(),
                    " tokens, more than max_input ", max_input, " (truncate is off)");
      tokens.resize(std::size_t(max_input));
      t.truncated = true;
    }
    t.source_tokens = tokens;
    corpus.add(source_ids(tokens, t), {}, std::int64_t(i));
    if (!tokens.empty()) rows.push_back(std::int64_t(i));
  }
  const DecodeOptions o = decode_options(search);
  Lease lease(*this);
  ThreadCountScope thread_count(threads);
  for (const auto& batch : batches(corpus, rows)) {
    const Batch b = make_batch(corpus, batch);
    std::vector<std::vector<Hypothesis>> lists;
    if (o.n_best > 1) {
      lists = beam_decode_nbest(lease.model(), b.source, b.source_lengths, o);
    } else {
      std::vector<std::int64_t> ids;  // the random stream of each row when sampling
      for (std::int64_t r : batch) ids.push_back(first_index + r);
      for (auto& h : decode(lease.model(), b.source, b.source_lengths, o, ids)) lists.push_back({std::move(h)});
    }
    for (std::size_t k = 0; k < batch.size(); ++k) {
      Translation& t = out[std::size_t(batch[k])];
      for (const Hypothesis& h : lists[k]) t.hypotheses.push_back(to_translation(h, search, t));
    }
  }
  for (Translation& t : out) {
    if (t.hypotheses.empty()) t.hypotheses.emplace_back();  // an empty source: an empty output, score 0
    Translation best = t.hypotheses[0];
    best.hypotheses = std::move(t.hypotheses);
    best.source_tokens = std::move(t.source_tokens);
    best.truncated = t.truncated;
    best.unknown = t.unknown;
    t = std::move(best);
  }
  return out;
}

Translator::Translator(const std::string& checkpoint, const TranslatorOptions& options)
    : Translator(std::vector<std::string>{checkpoint}, options) {}

Translator::Translator(const std::vector<std::string>& checkpoints, const TranslatorOptions& options)
    : impl_(std::make_unique<Impl>()) {
  options.validate();
  impl_->options = options;
  impl_->paths = checkpoints;
  impl_->load();
}

Translator::~Translator() = default;
Translator::Translator(Translator&&) noexcept = default;
Translator& Translator::operator=(Translator&&) noexcept = default;

std::vector<Translation> Translator::translate(const std::vector<std::string>& sources) const {
  return translate(sources, impl_->options);
}

std::vector<Translation> Translator::translate(const std::vector<std::string>& sources, const SearchOptions& search,
                                               std::int64_t first_index) const {
  std::vector<std::vector<std::string>> tokens;
  tokens.reserve(sources.size());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    try {
      check_text_line(sources[i], "source", std::int64_t(i));
    } catch (const Error& e) {
      throw InputError(e.what());
    }
    tokens.push_back(tokenize(sources[i]));
  }
  return impl_->run(std::move(tokens), search, first_index);
}

std::vector<Translation> Translator::translate_tokens(const std::vector<std::vector<std::string>>& sources) const {
  return translate_tokens(sources, impl_->options);
}

std::vector<Translation> Translator::translate_tokens(const std::vector<std::vector<std::string>>& sources,
                                                      const SearchOptions& search, std::int64_t first_index) const {
  return impl_->run(sources, search, first_index);
}

std::vector<TargetScore> Translator::score(const std::vector<std::string>& sources,
                                           const std::vector<std::string>& targets) const {
  XSEQ_CHECK_AS(InputError, sources.size() == targets.size(), "score: ", sources.size(), " sources but ",
                targets.size(), " targets");
  const TextPipeline& p = impl_->loaded.pipeline;
  const std::int64_t limit = impl_->max_input;
  ParallelText text("score");
  std::vector<TargetScore> out(sources.size());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    try {
      check_text_line(sources[i], "source", std::int64_t(i));
      check_text_line(targets[i], "target", std::int64_t(i));
    } catch (const Error& e) {
      throw InputError(e.what());
    }
    const bool over = std::int64_t(p.tokenizer->encode(sources[i]).size()) > limit ||
                      std::int64_t(p.target_side().encode(targets[i]).size()) > limit;
    XSEQ_CHECK_AS(InputError, !over || impl_->options.truncate, "pair ", i, " has a side longer than max_input ",
                  limit, " tokens (truncate is off)");
    out[i].truncated = over;
    text.add(sources[i], targets[i], std::int64_t(i) + 1);
  }
  EncodeOptions eo;
  eo.max_len = limit;
  eo.over_long = OverLong::truncate;
  const TokenizedCorpus corpus = encode_corpus(text, p.source_side(), p.target_side(), p.source_vocab, p.target_vocab, eo, nullptr);
  std::vector<PairScore> scores;
  {
    Impl::Lease lease(*impl_);
    ThreadCountScope thread_count(impl_->threads);
    scores = score_corpus(lease.model(), corpus, impl_->options.batch_size);
  }
  for (std::int64_t r = 0; r < corpus.size(); ++r) {
    TargetScore& s = out[std::size_t(corpus.origin_index(r))];
    std::vector<std::int32_t> target(static_cast<std::size_t>(corpus.target_length(r)));
    corpus.target().copy(r, target.data());
    for (auto id : target) s.tokens.push_back(p.target_vocab.token(id));
    s.tokens.push_back("</s>");
    const PairScore& got = scores[std::size_t(r)];
    s.token_log_probs.assign(got.token_log_probs.begin(), got.token_log_probs.end());
    s.log_prob = got.log_prob;
  }
  return out;
}

std::vector<std::string> Translator::tokenize(const std::string& text) const {
  return impl_->loaded.pipeline.tokenizer->encode(text);
}
const TranslatorOptions& Translator::options() const { return impl_->options; }
const std::vector<std::string>& Translator::checkpoints() const { return impl_->paths; }
const Config& Translator::config() const { return impl_->loaded.config; }
std::int64_t Translator::max_input() const { return impl_->max_input; }
int Translator::threads() const { return impl_->threads; }
std::string Translator::precision() const { return precision_name(impl_->loaded.model->inference_precision()); }

}  // namespace xseq
