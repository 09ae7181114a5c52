// Decoding features (issue 15): n-best lists, sampling, forced-decoding scores,
// ensembles, and the command-line errors around them.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "helpers.hpp"
#include "process.hpp"
#include "tiny_config.hpp"
#include "cli/cli.hpp"
#include "decode/ensemble.hpp"
#include "eval/evaluation.hpp"
#include "decode/sampling.hpp"
#include "train/trainer.hpp"
#include "decode/trained_model.hpp"
#include "decode/scoring.hpp"

using namespace xseq;
using xseq::test::run_cli;
using xseq::test::run_xseq;

namespace {

// A briefly trained tiny copy model (run/best.h5) and its validation pairs, made
// once per process: partly trained, so the beam, sampling and greedy differ.
struct Fixture {
  std::string dir, checkpoint;
  TrainedModel trained;
  PreparedData data;
  Batch valid;  // all 30 validation pairs
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    x.dir = "test_features_decoding-" + std::to_string(::getpid());
    std::filesystem::remove_all(x.dir);
    const Config c = parse_config(xseq::test::kTinyCopyConfig, "tiny.toml",
                                  {"train.max_steps=150", "train.lr=0.003", "train.warmup_steps=30",
                                   "train.valid_every=150", "train.checkpoint_every=150",
                                   "train.out_dir=\"" + x.dir + "/run\""});
    TrainOptions o;
    o.quiet = true;
    REQUIRE(train_model(c, o).exit_code == 0);
    x.checkpoint = x.dir + "/run/best.h5";
    x.trained = load_trained_model(x.checkpoint);
    x.data = prepare_data(c.data, false, &x.trained.pipeline);
    std::vector<std::int64_t> rows;
    for (std::int64_t i = 0; i < x.data.valid.size(); ++i) rows.push_back(i);
    x.valid = make_batch(x.data.valid, rows);
    return x;
  }();
  static const struct RemoveAtExit {
    ~RemoveAtExit() { std::filesystem::remove_all(f.dir); }
  } remove_at_exit;
  return f;
}

// Rows [first, first + n) of the validation pairs as a batch.
Batch rows_batch(const Fixture& f, std::int64_t first, std::int64_t n) {
  std::vector<std::int64_t> rows;
  for (std::int64_t i = first; i < std::min(first + n, f.data.valid.size()); ++i) rows.push_back(i);
  return make_batch(f.data.valid, rows);
}

std::int64_t length(const Hypothesis& h) { return static_cast<std::int64_t>(h.tokens.size()) + (h.ended ? 1 : 0); }

// Log-probability of each row's decoder_output under teacher forcing, by plain loops in double.
std::vector<double> forced_by_hand(Seq2SeqModel& model, const Batch& b) {
  NoGradGuard no_grad;
  const Tensor logits = model.logits(b.source, b.source_lengths, b.decoder_input, b.target_lengths).value();
  const std::int64_t T = logits.dim(1), V = logits.dim(2);
  std::vector<double> out;
  for (std::int64_t r = 0; r < b.size(); ++r) {
    double sum = 0;
    for (std::int64_t t = 0; t < b.target_lengths[static_cast<std::size_t>(r)]; ++t) {
      const float* row = logits.data() + (r * T + t) * V;
      double top = row[0], z = 0;
      for (std::int64_t v = 0; v < V; ++v) top = std::max(top, double(row[v]));
      for (std::int64_t v = 0; v < V; ++v) z += std::exp(double(row[v]) - top);
      sum += double(row[b.decoder_output.data[static_cast<std::size_t>(r * T + t)]]) - top - std::log(z);
    }
    out.push_back(sum);
  }
  return out;
}

}  // namespace

TEST_CASE("n-best: N distinct hypotheses, best first, the first is beam search's answer", "[features]") {
  const Fixture& f = fixture();
  Seq2SeqModel& model = *f.trained.model;
  DecodeOptions o;
  o.beam = 4;
  o.n_best = 4;
  const auto lists = beam_decode_nbest(model, f.valid.source, f.valid.source_lengths, o);
  REQUIRE(static_cast<std::int64_t>(lists.size()) == f.valid.size());
  for (std::size_t b = 0; b < lists.size(); ++b) {
    const auto& list = lists[b];
    REQUIRE(list.size() == 4);
    std::set<std::vector<std::int32_t>> distinct;
    for (std::size_t k = 0; k < list.size(); ++k) {
      distinct.insert(list[k].tokens);
      CHECK(list[k].normalized == normalized_score(list[k].score, length(list[k]), o.alpha));
      if (k > 0) CHECK(list[k - 1].normalized >= list[k].normalized);
    }
    CHECK(distinct.size() == 4);
    // Alone in its batch, the sentence searches the same rows as with n_best = 1
    // until that search stops: the same best hypothesis, to the bit.
    const Batch one = rows_batch(f, static_cast<std::int64_t>(b), 1);
    const auto alone = beam_decode_nbest(model, one.source, one.source_lengths, o);
    const auto best = beam_decode(model, one.source, one.source_lengths, o);
    CHECK(alone[0][0].tokens == best[0].tokens);
    CHECK(alone[0][0].score == best[0].score);
    CHECK(alone[0][0].tokens == list[0].tokens);
  }
  // n_best = 1 is beam_decode exactly, batch and all.
  o.n_best = 1;
  const auto single = beam_decode_nbest(model, f.valid.source, f.valid.source_lengths, o);
  const auto beam = beam_decode(model, f.valid.source, f.valid.source_lengths, o);
  for (std::size_t b = 0; b < beam.size(); ++b) {
    REQUIRE(single[b].size() == 1);
    CHECK(single[b][0].tokens == beam[b].tokens);
    CHECK(single[b][0].score == beam[b].score);
  }
  o.n_best = 5;
  CHECK_THROWS_WITH(beam_decode_nbest(model, f.valid.source, f.valid.source_lengths, o),
                    Catch::Contains("n-best must be in [1, beam size 4], got 5"));
}

TEST_CASE("sampling: seeded, independent of the batch, top-k 1 and a tiny temperature are greedy", "[features]") {
  const Fixture& f = fixture();
  Seq2SeqModel& model = *f.trained.model;
  const Batch& all = f.valid;
  DecodeOptions o;
  o.sample = true;
  o.seed = 7;
  const auto a = decode(model, all.source, all.source_lengths, o);
  const auto again = decode(model, all.source, all.source_lengths, o);
  const auto greedy = greedy_decode(model, all.source, all.source_lengths, o);
  int differs_from_greedy = 0;
  for (std::size_t b = 0; b < a.size(); ++b) {
    CHECK(again[b].tokens == a[b].tokens);
    CHECK(again[b].score == a[b].score);
    differs_from_greedy += a[b].tokens != greedy[b].tokens;
  }
  CHECK(differs_from_greedy > 0);  // it does sample
  // In batches of 7, each sentence keeps its own stream (ids = corpus rows).
  for (std::int64_t first = 0; first < all.size(); first += 7) {
    const Batch part = rows_batch(f, first, 7);
    std::vector<std::int64_t> ids;
    for (std::int64_t i = 0; i < part.size(); ++i) ids.push_back(first + i);
    const auto p = decode(model, part.source, part.source_lengths, o, ids);
    for (std::size_t i = 0; i < p.size(); ++i) {
      CHECK(p[i].tokens == a[static_cast<std::size_t>(first) + i].tokens);
      CHECK(p[i].score == a[static_cast<std::size_t>(first) + i].score);  // batch-invariant: to the last bit
    }
  }
  o.seed = 8;
  const auto other_seed = decode(model, all.source, all.source_lengths, o);
  int differs = 0;
  for (std::size_t b = 0; b < a.size(); ++b) differs += other_seed[b].tokens != a[b].tokens;
  CHECK(differs > 0);

  auto same_as_greedy = [&](const DecodeOptions& options) {
    const auto s = decode(model, all.source, all.source_lengths, options);
    for (std::size_t b = 0; b < s.size(); ++b) {
      CHECK(s[b].tokens == greedy[b].tokens);
      CHECK(s[b].score == greedy[b].score);
    }
  };
  DecodeOptions k1 = o;
  k1.top_k = 1;
  same_as_greedy(k1);
  DecodeOptions cold = o;
  cold.temperature = 1e-5;
  same_as_greedy(cold);
  DecodeOptions nucleus = o;
  nucleus.top_p = 1e-6;
  same_as_greedy(nucleus);
}

TEST_CASE("sample_token draws only inside top-k and the nucleus, in proportion", "[features]") {
  const float lp[4] = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  std::vector<std::pair<double, std::int32_t>> scratch;
  auto counts = [&](const DecodeOptions& o) {
    Rng rng(3);
    std::vector<int> n(4, 0);
    for (int i = 0; i < 20000; ++i) ++n[static_cast<std::size_t>(sample_token(lp, 4, o, rng, scratch))];
    return n;
  };
  DecodeOptions o;
  const auto plain = counts(o);
  // 20000 draws: a standard deviation of at most 0.0036 on each fraction.
  CHECK(plain[0] / 20000.0 == Approx(0.5).margin(0.015));
  CHECK(plain[3] / 20000.0 == Approx(0.05).margin(0.015));
  o.top_k = 2;
  const auto top2 = counts(o);
  CHECK(top2[2] + top2[3] == 0);
  CHECK(top2[0] / 20000.0 == Approx(0.5 / 0.8).margin(0.015));
  o.top_k = 0;
  o.top_p = 0.7;  // 0.5 < 0.7 <= 0.5 + 0.3: the two most likely
  const auto nucleus = counts(o);
  CHECK(nucleus[2] + nucleus[3] == 0);
  CHECK(nucleus[1] > 0);
  o.top_p = 1.0;
  o.temperature = 2.0;  // p^(1/2), renormalised
  const auto warm = counts(o);
  const double z = std::sqrt(0.5) + std::sqrt(0.3) + std::sqrt(0.15) + std::sqrt(0.05);
  CHECK(warm[3] / 20000.0 == Approx(std::sqrt(0.05) / z).margin(0.015));
}

TEST_CASE("score: forced decoding sums the per-token log-probabilities, greedy outputs score as decoded",
          "[features]") {
  const Fixture& f = fixture();
  Seq2SeqModel& model = *f.trained.model;
  const auto scores = score_corpus(model, f.data.valid, 8);
  const auto by_hand = forced_by_hand(model, f.valid);
  REQUIRE(scores.size() == by_hand.size());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    CHECK(scores[i].log_prob == Approx(by_hand[i]).margin(1e-4));
    CHECK(scores[i].tokens == f.data.valid.target_length(static_cast<std::int64_t>(i)) + 1);
  }
  // The greedy outputs that ended in </s>, scored by forced decoding.
  const auto greedy = greedy_decode(model, f.valid.source, f.valid.source_lengths);
  TokenizedCorpus outputs;
  std::vector<double> decoded_scores;
  for (std::size_t b = 0; b < greedy.size(); ++b) {
    if (!greedy[b].ended || greedy[b].tokens.empty()) continue;
    const auto row = static_cast<std::int64_t>(b);
    std::vector<std::int32_t> source(static_cast<std::size_t>(f.data.valid.source_length(row)));
    f.data.valid.source().copy(row, source.data());
    outputs.add(source, greedy[b].tokens, outputs.size());
    decoded_scores.push_back(greedy[b].score);
  }
  REQUIRE(outputs.size() >= 10);
  const auto forced = score_corpus(model, outputs, 4);
  for (std::size_t i = 0; i < forced.size(); ++i) CHECK(forced[i].log_prob == Approx(decoded_scores[i]).margin(1e-4));

  // The command: one line per pair in input order, the same numbers.
  std::ostringstream tsv;
  for (std::int64_t i = 0; i < f.data.valid_text.size(); ++i)
    tsv << f.data.valid_text.source(i) << "\t" << f.data.valid_text.target(i) << "\n";
  std::ofstream(f.dir + "/pairs.tsv") << tsv.str();
  std::string out, err;
  REQUIRE(run_xseq({"score", "--checkpoint", f.checkpoint, "--data", f.dir + "/pairs.tsv", "--batch", "7"}, "",
                   f.dir + "/score", &out, &err) == 0);
  std::istringstream lines(out);
  std::string line;
  std::int64_t n = 0;
  while (std::getline(lines, line)) {
    long long index = -1, tokens = -1;
    double sum = 0, per_token = 0;
    REQUIRE(std::sscanf(line.c_str(), "%lld\t%lf\t%lf\t%lld", &index, &sum, &per_token, &tokens) == 4);
    CHECK(index == n);
    CHECK(sum == Approx(scores[static_cast<std::size_t>(n)].log_prob).margin(2e-6));
    CHECK(per_token == Approx(sum / double(tokens)).margin(2e-6));
    CHECK(tokens == scores[static_cast<std::size_t>(n)].tokens);
    ++n;
  }
  CHECK(n == f.data.valid_text.size());
  std::ofstream(f.dir + "/bad.tsv") << "abc\tabc\nno tab here\n";
  CHECK(run_xseq({"score", "--checkpoint", f.checkpoint, "--data", f.dir + "/bad.tsv"}, "", f.dir + "/score2", &out,
                 &err) == 1);
  CHECK(err.find(f.dir + "/bad.tsv:2: no tab") != std::string::npos);
}

TEST_CASE("ensembles: a model with itself is the model, members' log-probabilities are averaged", "[features]") {
  const Fixture& f = fixture();
  const auto& model = f.trained.model;
  EnsembleModel twice({model, model});
  const Batch& b = f.valid;
  for (std::int64_t beam : {1, 4}) {
    DecodeOptions o;
    o.beam = beam;
    const auto single = decode(*model, b.source, b.source_lengths, o);
    const auto ensemble = decode(twice, b.source, b.source_lengths, o);
    for (std::size_t i = 0; i < single.size(); ++i) {
      CHECK(ensemble[i].tokens == single[i].tokens);
      CHECK(ensemble[i].score == single[i].score);
    }
  }
  {
    NoGradGuard no_grad;
    const Variable logits = model->logits(b.source, b.source_lengths, b.decoder_input, b.target_lengths);
    const Tensor one = log_softmax(logits).value();
    const Tensor two = twice.logits(b.source, b.source_lengths, b.decoder_input, b.target_lengths).value();
    REQUIRE(one.numel() == two.numel());
    for (std::int64_t i = 0; i < one.numel(); ++i) REQUIRE(one.data()[i] == two.data()[i]);
  }
  // Two different models: one step of the ensemble is the mean of theirs.
  Rng rng(5);
  auto other = make_model(f.trained.config.model, f.trained.pipeline.source_vocab.size(),
                          f.trained.pipeline.target_vocab.size(), rng);
  other->eval();
  EnsembleModel pair({model, other});
  {
    NoGradGuard no_grad;
    const std::vector<std::int32_t> bos(static_cast<std::size_t>(b.size()), Vocab::kBos);
    auto sa = model->encode(b.source, b.source_lengths);
    auto sb = other->encode(b.source, b.source_lengths);
    auto se = pair.encode(b.source, b.source_lengths);
    const Tensor la = model->step(*sa, bos).log_probs.value(), lb = other->step(*sb, bos).log_probs.value();
    const Tensor le = pair.step(*se, bos).log_probs.value();
    for (std::int64_t i = 0; i < le.numel(); ++i)
      REQUIRE(le.data()[i] == Approx(0.5 * (double(la.data()[i]) + double(lb.data()[i]))).margin(1e-6));
  }
  // Loading: one checkpoint is the plain model, two are an EnsembleModel.
  CHECK(dynamic_cast<EnsembleModel*>(load_ensemble({f.checkpoint}).model.get()) == nullptr);
  const TrainedModel loaded = load_ensemble({f.checkpoint, f.checkpoint});
  auto* e = dynamic_cast<EnsembleModel*>(loaded.model.get());
  REQUIRE(e != nullptr);
  CHECK(e->members().size() == 2);
  CHECK(!e->training());
}

TEST_CASE("ensembles: checkpoints with other vocabularies or tokenizers are a clear error", "[features]") {
  const Fixture& f = fixture();
  auto save = [&](const std::string& path, const std::string& tokenizer, std::vector<std::string> target) {
    TextPipeline p;
    p.tokenizer = make_tokenizer(tokenizer);
    p.source_vocab = Vocab(std::vector<std::string>{"a", "b"});
    p.target_vocab = Vocab(target);
    Rng rng(1);
    auto model = make_model(f.trained.config.model, p.source_vocab.size(), p.target_vocab.size(), rng);
    CheckpointExtras extras;
    p.save(extras);
    extras.attributes["config"] = f.trained.config.to_toml();
    extras.attributes["step"] = "1";
    save_checkpoint(path, *model, nullptr, extras);
  };
  const std::string a = f.dir + "/ens_a.h5", b = f.dir + "/ens_b.h5", c = f.dir + "/ens_c.h5";
  save(a, "char", {"a", "b"});
  save(b, "char", {"a", "c"});
  save(c, "space", {"a", "b"});
  CHECK_THROWS_WITH(load_ensemble({a, b}), Catch::Contains("cannot ensemble '" + b + "' with '" + a + "'") &&
                                              Catch::Contains("the target vocabularies differ"));
  CHECK_THROWS_WITH(load_ensemble({a, a, c}),
                    Catch::Contains("'" + c + "' with '" + a + "': the tokenizers differ ('char' and 'space')"));
  std::string out, err;
  CHECK(run_xseq({"translate", "--checkpoint", a, "--checkpoint", b}, "ab\n", f.dir + "/ens", &out, &err) == 1);
  CHECK(err.find("target vocabularies differ") != std::string::npos);
}

TEST_CASE("decoding flags: contradictions are command-line errors, n-best and sampling from the CLI", "[features]") {
  CHECK(run_cli({"translate", "--checkpoint", "x.h5", "--n-best", "3", "--beam", "2"}) == 2);
  CHECK(run_cli({"translate", "--checkpoint", "x.h5", "--sample", "--beam", "2"}) == 2);
  CHECK(run_cli({"translate", "--checkpoint", "x.h5", "--sample", "--n-best", "1"}) == 2);
  CHECK(run_cli({"eval", "--checkpoint", "x.h5", "--data", "t.tsv", "--sample", "--beam", "3"}) == 2);
  CHECK(run_cli({"eval", "--checkpoint", "x.h5", "--data", "t.tsv", "--n-best", "1"}) == 2);  // translate only
  for (const char* p : {"0", "1.5", "-0.1", "nan"})
    CHECK(run_cli({"translate", "--checkpoint", "x.h5", "--sample", "--top-p", p}) == 2);
  CHECK(run_cli({"translate", "--checkpoint", "x.h5", "--sample", "--temperature", "0"}) == 2);
  CHECK(run_cli({"translate", "--checkpoint", "x.h5", "--sample", "--top-k", "-1"}) == 2);
  CHECK(run_cli({"score", "--data", "t.tsv"}) == 2);  // --checkpoint is required

  const Fixture& f = fixture();
  std::string input;
  for (std::int64_t i = 0; i < 9; ++i) input += std::string(f.data.valid_text.source(i)) + "\n";
  std::string out, err;
  REQUIRE(run_xseq({"translate", "--checkpoint", f.checkpoint, "--beam", "3", "--n-best", "2"}, input,
                   f.dir + "/nbest", &out, &err) == 0);
  std::istringstream lines(out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    CHECK(std::count(line.begin(), line.end(), '\t') == 3);
    CHECK(std::stoi(line) == n / 2);  // index: the 0-based input line
    ++n;
  }
  CHECK(n == 18);
  // Sampling: the same lines whatever --batch (and --threads) say.
  std::string one, many;
  std::ofstream(f.dir + "/in.txt") << input;
  REQUIRE(run_xseq({"translate", "--checkpoint", f.checkpoint, "--sample", "--seed", "3", "--batch", "1", "--input",
                    f.dir + "/in.txt"},
                   "", f.dir + "/s1", &one, &err) == 0);
  REQUIRE(run_xseq({"translate", "--checkpoint", f.checkpoint, "--sample", "--seed", "3", "--batch", "32", "--threads",
                    "2", "--input", f.dir + "/in.txt"},
                   "", f.dir + "/s2", &many, &err) == 0);
  CHECK(one == many);
  CHECK(std::count(one.begin(), one.end(), '\n') == 9);
  // An ensemble of a checkpoint with itself translates exactly like the checkpoint.
  std::string single, ensemble;
  REQUIRE(run_xseq({"translate", "--checkpoint", f.checkpoint, "--beam", "2"}, input, f.dir + "/e1", &single, &err) ==
          0);
  REQUIRE(run_xseq({"translate", "--checkpoint", f.checkpoint, "--checkpoint", f.checkpoint, "--beam", "2"}, input,
                   f.dir + "/e2", &ensemble, &err) == 0);
  CHECK(single == ensemble);
}
