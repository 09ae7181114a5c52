// End-to-end training: a tiny model learns copy, resume is bit-exact, a
// non-finite loss stops the run and keeps the last good checkpoint.
#include <cfloat>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "helpers.hpp"
#include "cli/cli.hpp"
#include "eval/evaluation.hpp"
#include "eval/report.hpp"
#include "train/trainer.hpp"

using namespace xseq;

namespace {
Config tiny_copy(const std::string& out_dir, const std::string& model = "transformer") {
  Config c = parse_config(R"([data]
task = "copy"
task_train = 2000
task_valid = 100
task_test = 100
task_min_len = 2
task_max_len = 6
task_alphabet = "abcdef"

[model]
d_model = 64
heads = 4
ff_dim = 128
encoder_layers = 1
decoder_layers = 1
dropout = 0.0
embed_dim = 16
hidden = 32

[train]
batch_size = 32
lr = 0.002
beta2 = 0.999
schedule = "cosine"
warmup_steps = 100
max_steps = 1500
valid_every = 500
checkpoint_every = 500
log_every = 50
threads = 1
)",
                          "tiny.toml", {"train.out_dir=" + out_dir, "model.type=" + model});
  return c;
}

std::vector<Tensor> snapshot(const std::string& checkpoint, const std::string& group = "params") {
  auto file = open_checkpoint(checkpoint);
  std::vector<Tensor> out;
  for (const auto& name : file->datasets(group)) out.push_back(file->read(group + "/" + name));
  return out;
}
}  // namespace

TEST_CASE("e2e: a tiny transformer learns copy (at least 97% exact match)", "[e2e][train]") {
  // Each sgemm kernel (OPENBLAS_CORETYPE) rounds differently, and 1,500 steps of
  // Adam turn those last bits into a different model. With a constant rate the
  // final model still oscillated: 0.94-1.0 exact match over 5 seeds x 4 kernels,
  // and at lr 0.003 some runs diverged. The cosine decay to 0 (lr 0.002, beta2
  // 0.999) lets every run settle: 40 of 40 runs (seeds 1-10 x default/Cooperlake,
  // Sandybridge, Haswell, SkylakeX) reached 1.0 on both splits. The test asserts
  // a margin of 3 sentences in 100 below that, so that it states what the
  // trainer must do (learn the task) and not which kernel trained it.
  const TrainResult r = train_model(tiny_copy("test_run_copy"), TrainOptions{false, true, nullptr});
  REQUIRE(r.exit_code == 0);
  CHECK(r.stop_reason == "max_steps");
  CHECK(r.valid.at("exact_match") >= 0.97);
  CHECK(r.test.at("exact_match") >= 0.97);
  // The run directory has everything.
  for (const char* f : {"last.h5", "best.h5", "config.toml", "log.jsonl"})
    CHECK(std::filesystem::exists(std::string("test_run_copy/") + f));
  std::ifstream log("test_run_copy/log.jsonl");
  std::string first;
  std::getline(log, first);
  CHECK(first.rfind("{\"step\":50,\"epoch\":0,\"loss\":", 0) == 0);
  CHECK(first.find("\"tokens_per_s\":") != std::string::npos);
  CHECK(parse_log_line(first).at("step") == 50);

  // The run's report: one page, curves, metrics, one heatmap per sentence shown.
  write_report("test_run_copy", "", 2);
  std::ifstream page("test_run_copy/report.html");
  std::stringstream html;
  html << page.rdbuf();
  const std::string h = html.str();
  auto count = [&](const std::string& what) {
    std::size_t n = 0;
    for (std::size_t pos = 0; (pos = h.find(what, pos)) != std::string::npos; ++pos) ++n;
    return n;
  };
  CHECK(h.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(h.find("</html>") != std::string::npos);
  CHECK(count("<svg") == count("</svg>"));
  CHECK(count("<svg") >= 2 + 3 + 2);  // training curves, validation curves, heatmaps
  CHECK(h.find("training loss") != std::string::npos);
  CHECK(h.find("Final metrics (test set, best.h5)") != std::string::npos);
  CHECK(h.find("http") == h.find("http://www.w3.org/2000/svg"));  // no network resources besides the SVG namespace
  std::filesystem::remove_all("test_run_copy");
}

TEST_CASE("e2e: N steps + resume for N more is bit-identical to 2N straight", "[e2e][train][checkpoint]") {
  // accumulate 2: the per-batch dropout streams and token weights of an update resume too.
  for (const auto& [model, accumulate] : std::vector<std::pair<const char*, int>>{
           {"transformer", 1}, {"rnn_attention", 1}, {"transformer", 2}}) {
    DYNAMIC_SECTION(model << ", accumulate " << accumulate) {
      Config straight = tiny_copy("test_run_straight", model);
      straight.train.accumulate = accumulate;
      straight.model.dropout = 0.2f;  // the dropout generators must resume too
      straight.train.max_steps = 40;
      straight.train.valid_every = 15;
      straight.train.checkpoint_every = 7;
      straight.train.batch_size = 16;
      straight.data.task_train = 200;  // several epochs
      straight.train.ema_decay = 0.9;  // the moving average resumes too ...
      straight.train.schedule = "plateau";  // ... and so does the plateau's rate
      straight.train.plateau_patience = 1;
      REQUIRE(train_model(straight, TrainOptions{false, true, nullptr}).exit_code == 0);

      Config first = straight;
      first.train.out_dir = "test_run_resumed";
      first.train.max_steps = 20;
      REQUIRE(train_model(first, TrainOptions{false, true, nullptr}).exit_code == 0);
      Config second = first;
      second.train.max_steps = 40;
      const TrainResult r = train_model(second, TrainOptions{true, true, nullptr});
      REQUIRE(r.exit_code == 0);
      CHECK(r.steps == 40);

      for (const char* group : {"params", "ema"}) {
        const auto a = snapshot("test_run_straight/last.h5", group), b = snapshot("test_run_resumed/last.h5", group);
        REQUIRE(a.size() == b.size());
        REQUIRE(!a.empty());
        for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(max_abs_diff(a[i], b[i]) == 0.0f);
      }
      std::filesystem::remove_all("test_run_straight");
      std::filesystem::remove_all("test_run_resumed");
    }
  }
}

TEST_CASE("e2e: a non-finite loss stops training and keeps the last good checkpoint", "[e2e][train]") {
  Config c = tiny_copy("test_run_nan");
  c.train.max_steps = 50;
  c.train.checkpoint_every = 4;
  std::vector<Tensor> at_step_4;
  TrainOptions o{false, true, [&](std::int64_t step, Seq2SeqModel& model) {
                   if (step == 4)
                     for (auto& p : model.parameters()) at_step_4.push_back(p.value().clone());
                   if (step == 6) model.parameters().back().mutable_value().data()[0] = std::nanf("");
                 }};
  const TrainResult r = train_model(c, o);
  CHECK(r.exit_code == 1);
  CHECK(r.stop_reason == "non-finite loss");
  CHECK(r.steps == 6);
  auto file = open_checkpoint("test_run_nan/last.h5");
  CHECK(file->attribute("step") == "4");
  Rng rng(0);
  auto model = make_model(c.model, TextPipeline::load(*file).source_vocab.size(),
                          TextPipeline::load(*file).target_vocab.size(), rng);
  load_parameters(*file, *model);
  const auto params = model->parameters();
  for (std::size_t i = 0; i < params.size(); ++i) REQUIRE(max_abs_diff(params[i].value(), at_step_4[i]) == 0.0f);
  file.reset();
  std::filesystem::remove_all("test_run_nan");
}

TEST_CASE("e2e: max_epochs stops after exactly that many passes over the data", "[e2e][train]") {
  Config c = tiny_copy("test_run_epochs");
  c.data.task_train = 100;
  c.train.batch_size = 10;  // 10 batches per epoch
  c.train.max_epochs = 2;
  const TrainResult r = train_model(c, TrainOptions{false, true, nullptr});
  CHECK(r.stop_reason == "max_epochs");
  CHECK(r.steps == 20);
  std::filesystem::remove_all("test_run_epochs");
}

TEST_CASE("decoding: beam 1 is exactly greedy, a wider beam never scores below greedy", "[decode][e2e]") {
  Config c = tiny_copy("test_run_beam");
  c.train.max_steps = 300;  // partly trained: greedy is not always right, so beams differ
  c.train.valid_every = 300;
  c.train.checkpoint_every = 300;
  REQUIRE(train_model(c, TrainOptions{false, true, nullptr}).exit_code == 0);
  auto file = open_checkpoint("test_run_beam/last.h5");
  const TextPipeline pipeline = TextPipeline::load(*file);
  const PreparedData data = prepare_data(c.data, false, &pipeline);
  Rng rng(0);
  auto model = make_model(c.model, pipeline.source_vocab.size(), pipeline.target_vocab.size(), rng);
  load_parameters(*file, *model);
  model->eval();
  std::vector<std::int64_t> rows;
  for (std::int64_t i = 0; i < 100; ++i) rows.push_back(i);
  const Batch b = make_batch(data.valid, rows);

  DecodeOptions greedy_options;
  const auto greedy = greedy_decode(*model, b.source, b.source_lengths, greedy_options);
  DecodeOptions one = greedy_options;
  one.beam = 1;
  const auto beam1 = beam_decode(*model, b.source, b.source_lengths, one);
  DecodeOptions four = greedy_options;
  four.beam = 4;
  const auto beam4 = beam_decode(*model, b.source, b.source_lengths, four);
  int better = 0, greedy_wrong = 0;
  for (std::size_t i = 0; i < greedy.size(); ++i) {
    REQUIRE(beam1[i].tokens == greedy[i].tokens);
    REQUIRE(beam1[i].score == greedy[i].score);
    const auto length = [](const Hypothesis& h) { return static_cast<std::int64_t>(h.tokens.size()) + (h.ended ? 1 : 0); };
    const double g = normalized_score(greedy[i].score, length(greedy[i]), four.alpha);
    const double w = normalized_score(beam4[i].score, length(beam4[i]), four.alpha);
    INFO("greedy " << pipeline.detokenize(greedy[i].tokens) << " score " << greedy[i].score << " ended " << greedy[i].ended
         << "; beam " << pipeline.detokenize(beam4[i].tokens) << " score " << beam4[i].score << " ended " << beam4[i].ended);
    // Greedy decodes 100 rows and beam 4 up to 400, but decoding is
    // batch-invariant (tests/test_batch_invariance.cpp): the same tokens must
    // score the same to the last bit, whatever batch they were decoded in.
    if (beam4[i].tokens == greedy[i].tokens) {
      CHECK(beam4[i].score == greedy[i].score);
      continue;
    }
    // Different hypotheses: each score is a double sum of L + 1 float32
    // log-probabilities (L tokens and </s>), each rounded once to float
    // (relative error <= FLT_EPSILON / 2), and the double sum and the length
    // penalty add rounding far below that. Two hypotheses whose exact scores tie
    // can therefore differ by at most (L + 1) * FLT_EPSILON * sum |log p|, an
    // absolute floor that does not shrink to nothing the way a purely relative
    // tolerance does when the score is near 0; the relative 1e-6 covers the
    // division by the length penalty.
    const double floor = (double(length(greedy[i])) + 1) * FLT_EPSILON * std::abs(greedy[i].score);
    const double tolerance = 1e-6 * std::abs(g) + floor;
    CHECK(w >= g - tolerance);
    better += w > g + tolerance;
    greedy_wrong += pipeline.detokenize(greedy[i].tokens) != data.valid_text.target(data.valid.origin_index(rows[i]));
  }
  INFO("beam 4 beat greedy on " << better << " of 100; greedy was wrong on " << greedy_wrong);
  CHECK(greedy_wrong > 0);  // the comparison is not vacuous

  // evaluate() agrees with the greedy outputs and gives every metric.
  EvalOptions eo;
  std::vector<std::string> texts;
  eo.hypotheses = &texts;
  const auto m = evaluate(*model, pipeline, data.valid, data.valid_text, eo);
  CHECK(m.at("sentences") == 100);
  CHECK(m.at("exact_match") == Approx(1.0 - greedy_wrong / 100.0));
  CHECK(m.at("perplexity") == Approx(std::exp(m.at("loss"))));
  // Loss, token accuracy and token error rate recomputed here from the model's
  // logits and the decoded texts, by plain loops.
  {
    NoGradGuard no_grad;
    const Tensor logits = model->logits(b.source, b.source_lengths, b.decoder_input, b.target_lengths).value();
    const std::int64_t T = logits.dim(1), V = logits.dim(2);
    double nll = 0, right = 0, count = 0;
    for (std::int64_t r = 0; r < 100; ++r)
      for (std::int64_t t = 0; t < b.target_lengths[static_cast<std::size_t>(r)]; ++t) {
        const float* row = logits.data() + (r * T + t) * V;
        const int target = b.decoder_output.data[static_cast<std::size_t>(r * T + t)];
        double z = 0, best = row[0];
        int arg = 0;
        for (std::int64_t v = 0; v < V; ++v) {
          if (row[v] > best) best = row[v], arg = static_cast<int>(v);
        }
        for (std::int64_t v = 0; v < V; ++v) z += std::exp(double(row[v]) - best);
        nll += -(double(row[target]) - best - std::log(z));
        right += arg == target;
        ++count;
      }
    CHECK(m.at("loss") == Approx(nll / count).epsilon(1e-4));
    CHECK(m.at("token_accuracy") == Approx(right / count).epsilon(1e-6));
    double errors = 0, reference_tokens = 0;
    for (std::int64_t r = 0; r < 100; ++r) {
      const std::int64_t pair = data.valid.origin_index(rows[static_cast<std::size_t>(r)]);
      std::vector<std::int32_t> hyp, ref;
      for (const auto& tok : pipeline.tokenizer->encode(texts[static_cast<std::size_t>(pair)])) hyp.push_back(pipeline.target_vocab.id(tok));
      for (const auto& tok : pipeline.tokenizer->encode(data.valid_text.target(pair))) ref.push_back(pipeline.target_vocab.id(tok));
      errors += double(edit_distance(hyp, ref));
      reference_tokens += double(ref.size());
    }
    CHECK(m.at("token_error_rate") == Approx(errors / reference_tokens));
    CHECK(m.at("token_error_rate") > 0.0);
  }
  CHECK(texts[static_cast<std::size_t>(data.valid.origin_index(rows[0]))] == pipeline.detokenize(greedy[0].tokens));

  // xseq average: the mean of two checkpoints of this model, parameter by parameter.
  c.train.max_steps = 310;  // a second checkpoint, 10 steps later
  c.train.checkpoint_every = 310;
  REQUIRE(train_model(c, TrainOptions{true, true, nullptr}).exit_code == 0);
  file.reset();
  std::vector<std::string> words{"xseq", "average", "--out", "test_run_beam/avg.h5", "test_run_beam/best.h5",
                                 "test_run_beam/last.h5"};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  REQUIRE(cli::run(static_cast<int>(argv.size()), argv.data()) == 0);
  const auto avg = snapshot("test_run_beam/avg.h5"), a = snapshot("test_run_beam/best.h5"),
             b2 = snapshot("test_run_beam/last.h5");
  REQUIRE(avg.size() == a.size());
  for (std::size_t i = 0; i < avg.size(); ++i)
    for (std::int64_t j = 0; j < avg[i].numel(); j += 7)
      REQUIRE(avg[i].data()[j] == Approx(0.5f * (a[i].data()[j] + b2[i].data()[j])).margin(1e-6));
  file.reset();
  std::filesystem::remove_all("test_run_beam");
}
