// Training features: step checkpoints kept and averaged, the moving average of
// the weights, fine-tuning from a trained model, the plateau schedule.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "framework/ema.hpp"
#include "helpers.hpp"
#include "process.hpp"
#include "tiny_config.hpp"
#include "train/averaging.hpp"
#include "eval/report.hpp"
#include "train/trainer.hpp"
#include "decode/trained_model.hpp"

using namespace xseq;

namespace {

Config tiny(const std::string& out_dir, std::vector<std::string> sets = {}) {
  sets.push_back("train.out_dir=\"" + out_dir + "\"");
  return parse_config(xseq::test::kTinyCopyConfig, "tiny.toml", sets);
}

TrainOptions quiet() {
  TrainOptions o;
  o.quiet = true;
  return o;
}

std::vector<Tensor> weights(const std::string& checkpoint, const std::string& group) {
  auto file = open_checkpoint(checkpoint);
  std::vector<Tensor> out;
  for (const auto& name : file->datasets(group)) out.push_back(file->read(group + "/" + name));
  return out;
}

std::vector<std::string> names(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(std::filesystem::path(p).filename().string());
  return out;
}

// The "lr" of each progress line of log.jsonl, by step.
std::map<double, double> logged_rates(const std::string& log_path) {
  std::ifstream in(log_path);
  std::map<double, double> rates;
  for (std::string line; std::getline(in, line);) {
    const auto m = parse_log_line(line);
    if (m.count("lr")) rates[m.at("step")] = m.at("lr");
  }
  return rates;
}

}  // namespace

TEST_CASE("keep_checkpoints keeps the newest N ckpt-<step>.h5, a fresh run removes an earlier run's",
          "[features][train]") {
  const std::string dir = "test_features_keep";
  std::filesystem::remove_all(dir);
  REQUIRE(train_model(tiny(dir, {"train.keep_checkpoints=2"}), quiet()).exit_code == 0);
  CHECK(names(step_checkpoints(dir)) == std::vector<std::string>{"ckpt-30.h5", "ckpt-40.h5"});
  // Each is a full checkpoint of its step (resumable like last.h5).
  CHECK(open_checkpoint(dir + "/ckpt-30.h5")->attribute("step") == "30");
  CHECK(open_checkpoint(dir + "/ckpt-40.h5")->has("optimizer"));

  REQUIRE(train_model(tiny(dir, {"train.keep_checkpoints=3", "train.max_steps=20"}), quiet()).exit_code == 0);
  CHECK(names(step_checkpoints(dir)) == std::vector<std::string>{"ckpt-10.h5", "ckpt-20.h5"});
  std::filesystem::remove_all(dir);
}

TEST_CASE("average_last writes averaged.h5, the mean of the newest N checkpoints, and tests it", "[features][train]") {
  const std::string dir = "test_features_average";
  std::filesystem::remove_all(dir);
  const TrainResult r = train_model(tiny(dir, {"train.keep_checkpoints=3", "train.average_last=2"}), quiet());
  REQUIRE(r.exit_code == 0);
  CHECK(r.test_averaged.count("exact_match") == 1);
  const auto a = weights(dir + "/ckpt-30.h5", "params"), b = weights(dir + "/ckpt-40.h5", "params"),
             avg = weights(dir + "/averaged.h5", "params");
  REQUIRE(avg.size() == a.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::int64_t j = 0; j < a[i].numel(); ++j)
      REQUIRE(avg[i].data()[j] == Approx(0.5 * (a[i].data()[j] + b[i].data()[j])).margin(1e-6));
  std::ifstream log(dir + "/log.jsonl");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(text.find("\"checkpoint\":\"averaged.h5\"") != std::string::npos);
  CHECK(text.find("\"checkpoint\":\"best.h5\"") != std::string::npos);

  SECTION("xseq average --last N RUN_DIR does the same by hand") {
    std::filesystem::remove(dir + "/averaged.h5");
    std::string out, err;
    REQUIRE(xseq::test::run_xseq({"average", "--last", "2", dir}, "", dir + "/cli", &out, &err) == 0);
    const auto again = weights(dir + "/averaged.h5", "params");
    for (std::size_t i = 0; i < avg.size(); ++i) CHECK(max_abs_diff(again[i], avg[i]) == 0.0f);
    CHECK(xseq::test::run_xseq({"average", "--last", "5", dir}, "", dir + "/cli", &out, &err) == 1);
    CHECK(err.find("holds 3 step checkpoints (ckpt-<step>.h5), fewer than the 5 asked for") != std::string::npos);
    CHECK(xseq::test::run_xseq({"average", "--last", "2", dir, dir}, "", dir + "/cli", &out, &err) == 2);
    CHECK(err.find("exactly one run directory") != std::string::npos);
    CHECK(xseq::test::run_xseq({"average", dir + "/ckpt-30.h5", dir + "/ckpt-40.h5"}, "", dir + "/cli", &out, &err) == 2);
    CHECK(err.find("--out") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("average_last needs keep_checkpoints >= N", "[features][config]") {
  CHECK_THROWS_WITH(tiny("x", {"train.average_last=3", "train.keep_checkpoints=2"}),
                    Catch::Contains("train.average_last = 3 needs train.keep_checkpoints >= 3 (it is 2)"));
}

TEST_CASE("moving average: the update rule, and swap twice is the identity", "[features][ema]") {
  Variable w(Tensor::from_vector(Shape{3}, {1.0f, 2.0f, 3.0f}), true);
  ExponentialMovingAverage ema({{"w", w}}, 0.5);
  w.mutable_value().data()[0] = 3.0f;  // the weight moves to 3, 2, 3
  ema.update();                        // d = min(0.5, 2/11) = 2/11
  const float d = 2.0f / 11.0f;
  CHECK(ema.averages()[0].variable.value().data()[0] == Approx(d * 1.0f + (1 - d) * 3.0f));
  ema.update();  // d = min(0.5, 3/12) = 0.25
  const float expected = 0.25f * (d * 1.0f + (1 - d) * 3.0f) + 0.75f * 3.0f;
  CHECK(ema.averages()[0].variable.value().data()[0] == Approx(expected));
  ema.swap();
  CHECK(w.value().data()[0] == Approx(expected));
  CHECK(ema.averages()[0].variable.value().data()[0] == 3.0f);
  ema.swap();
  CHECK(w.value().data()[0] == 3.0f);
  CHECK(ema.updates() == 2);
}

TEST_CASE("ema_decay: checkpoints hold the average of the weights after every update, decoding uses it",
          "[features][ema][train]") {
  const std::string dir = "test_features_ema";
  std::filesystem::remove_all(dir);
  const double decay = 0.8;
  // The average computed independently, in double, from the weights after each update.
  std::vector<std::vector<double>> average;
  TrainOptions o = quiet();
  o.after_step = [&](std::int64_t step, Seq2SeqModel& model) {
    const double d = std::min(decay, (1.0 + double(step)) / (10.0 + double(step)));
    const auto params = model.parameters();
    for (std::size_t k = 0; k < params.size(); ++k) {
      const Tensor& w = params[k].value();
      for (std::int64_t i = 0; i < w.numel(); ++i) average[k][static_cast<std::size_t>(i)] =
          d * average[k][static_cast<std::size_t>(i)] + (1 - d) * w.data()[i];
    }
  };
  Config c = tiny(dir, {"train.ema_decay=0.8"});
  {  // the average starts at the initial weights, which a model built with the same seed reproduces
    Rng rng(static_cast<std::uint64_t>(c.train.seed));
    const PreparedData data = prepare_data(c.data, false, nullptr);
    auto model = make_model(c.model, data.pipeline.source_vocab.size(), data.pipeline.target_vocab.size(), rng);
    for (const auto& p : model->parameters()) average.emplace_back(p.value().data(), p.value().data() + p.numel());
  }
  REQUIRE(train_model(c, o).exit_code == 0);
  auto file = open_checkpoint(dir + "/last.h5");
  CHECK(inference_group(*file) == "ema");
  CHECK(file->attribute("ema_updates") == "40");
  TrainedModel trained = load_trained_model(dir + "/last.h5");
  const auto params = trained.model->parameters();
  REQUIRE(params.size() == average.size());
  for (std::size_t k = 0; k < params.size(); ++k)
    for (std::int64_t i = 0; i < params[k].numel(); ++i)
      REQUIRE(params[k].value().data()[i] == Approx(average[k][static_cast<std::size_t>(i)]).margin(2e-6));
  CHECK(inference_group(*open_checkpoint(dir + "/best.h5")) == "ema");
  std::filesystem::remove_all(dir);
}

TEST_CASE("fine-tuning: --init-from starts a new run from trained weights with the old vocabularies", "[features][train]") {
  const std::string dir = "test_features_init";
  std::filesystem::remove_all(dir);
  REQUIRE(train_model(tiny(dir + "/old", {"train.max_steps=20"}), quiet()).exit_code == 0);

  SECTION("the weights are the old ones; step, optimizer and schedule start afresh") {
    // SGD at a rate too small to move any weight: after one update the new run's
    // weights must be exactly the old best.h5's.
    TrainOptions o = quiet();
    o.init_from = dir + "/old/best.h5";
    const Config c = tiny(dir + "/new", {"train.max_steps=1", "train.optimizer=\"sgd\"", "train.lr=1e-30",
                                        "train.momentum=0", "train.valid_every=1"});
    const TrainResult r = train_model(c, o);
    REQUIRE(r.exit_code == 0);
    CHECK(r.steps == 1);
    const auto old_weights = weights(dir + "/old/best.h5", "params"), new_weights = weights(dir + "/new/last.h5", "params");
    REQUIRE(old_weights.size() == new_weights.size());
    for (std::size_t i = 0; i < old_weights.size(); ++i) CHECK(max_abs_diff(old_weights[i], new_weights[i]) == 0.0f);
    auto file = open_checkpoint(dir + "/new/last.h5");
    CHECK(file->attribute("init_from") == dir + "/old/best.h5");
    CHECK(file->attribute("optimizer.type") == "sgd");
  }
  SECTION("another model config names the first parameter that does not fit, with both shapes") {
    TrainOptions o = quiet();
    o.init_from = dir + "/old/best.h5";
    CHECK_THROWS_WITH(train_model(tiny(dir + "/new", {"model.ff_dim=48"}), o),
                      Catch::Contains("--init-from / train.init_from: the model of tiny.toml does not match") &&
                          Catch::Contains("has shape (64, 32) but the model's is (48, 32)"));
  }
  SECTION("new data is encoded with the old vocabulary; unknown tokens are reported") {
    std::ofstream(dir + "/new.toml") << tiny(dir + "/new", {"data.task_alphabet=\"abcdefgh\""}).to_toml();
    std::string out, err;
    REQUIRE(xseq::test::run_xseq({"train", dir + "/new.toml", "--init-from", dir + "/old/best.h5", "--set",
                                  "train.max_steps=2"},
                                 "", dir + "/cli", &out, &err) == 0);
    CHECK(err.find("initialized from " + dir + "/old/best.h5") != std::string::npos);
    CHECK(err.find("target tokens unknown (mapped to <unk>)") != std::string::npos);
    CHECK(xseq::test::run_xseq({"train", dir + "/new.toml", "--init-from", dir + "/old/best.h5", "--resume"}, "",
                               dir + "/cli", &out, &err) == 2);
    CHECK(err.find("excludes") != std::string::npos);
  }
  SECTION("train.init_from in the config does what --init-from does; --resume ignores it") {
    const std::string key = "train.init_from=\"" + dir + "/old/best.h5\"";
    std::ofstream(dir + "/new.toml") << tiny(dir + "/new", {key}).to_toml();
    std::string out, err;
    REQUIRE(xseq::test::run_xseq({"train", dir + "/new.toml", "--set", "train.max_steps=2"}, "", dir + "/cli", &out,
                                 &err) == 0);
    CHECK(err.find("initialized from " + dir + "/old/best.h5") != std::string::npos);
    CHECK(open_checkpoint(dir + "/new/last.h5")->attribute("init_from") == dir + "/old/best.h5");
    REQUIRE(xseq::test::run_xseq({"train", dir + "/new.toml", "--resume", "--set", "train.max_steps=4"}, "",
                                 dir + "/cli", &out, &err) == 0);
    CHECK(err.find("initialized from") == std::string::npos);
    CHECK(xseq::test::run_xseq({"train", dir + "/new.toml", "--set", "train.init_from=\"nowhere/best.h5\""}, "",
                               dir + "/cli", &out, &err) == 1);
    CHECK(err.find("train.init_from = 'nowhere/best.h5' is not a file") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("schedule plateau lowers the rate after plateau_patience validations without improvement",
          "[features][train]") {
  Schedule s{"plateau", 0.01f, 4, 0};
  CHECK(s.at(2) == Approx(0.005f));  // warmup first
  s.plateau_scale = 0.25;
  CHECK(s.at(10) == Approx(0.0025f));

  // A rate too small to learn: exact match stays 0, so only the first validation
  // (step 10) improves; with patience 1 every later one halves the rate.
  const std::string dir = "test_features_plateau";
  std::filesystem::remove_all(dir);
  Config c = tiny(dir, {"train.schedule=\"plateau\"", "train.lr=1e-6", "train.plateau_patience=1",
                        "train.plateau_factor=0.5", "train.metric=\"exact_match\""});
  REQUIRE(train_model(c, quiet()).exit_code == 0);
  const auto rates = logged_rates(dir + "/log.jsonl");
  CHECK(rates.at(10) == Approx(1e-6));
  CHECK(rates.at(20) == Approx(1e-6));
  CHECK(rates.at(25) == Approx(5e-7));
  CHECK(rates.at(35) == Approx(2.5e-7));
  std::filesystem::remove_all(dir);
}

TEST_CASE("valid_max_sentences decodes exactly that many sentences, not whole batches", "[train]") {
  const std::string dir = "test_features_valid_max";
  std::filesystem::remove_all(dir);
  const TrainResult r = train_model(tiny(dir, {"train.valid_max_sentences=20", "train.max_steps=10"}), quiet());
  REQUIRE(r.exit_code == 0);
  CHECK(r.valid.at("sentences") == 20.0);  // batches of 16: 32 were decoded and counted before
  std::filesystem::remove_all(dir);
}

TEST_CASE("recipe freedict-deu-eng: dictd entries to cleaned pairs, the same split every run", "[features][recipe]") {
  const std::string dir = "test_features_recipe_" + std::to_string(::getpid());
  const std::string src = XSEQ_SOURCE_DIR, fixture = src + "/tests/fixtures/freedict/mini";
  const std::string command = "FREEDICT_INDEX=" + fixture + ".index FREEDICT_DICT=" + fixture +
                              ".dict.dz bash " + src + "/scripts/recipes/freedict-deu-eng.sh " + dir;
  REQUIRE(std::system((command + "/a > /dev/null").c_str()) == 0);
  REQUIRE(std::system((command + "/b > /dev/null").c_str()) == 0);
  std::vector<std::string> pairs;
  for (const char* split : {"train", "valid", "test"}) {
    std::ifstream a(dir + "/a/" + split + ".tsv"), b(dir + "/b/" + split + ".tsv");
    const std::string text_a((std::istreambuf_iterator<char>(a)), std::istreambuf_iterator<char>());
    const std::string text_b((std::istreambuf_iterator<char>(b)), std::istreambuf_iterator<char>());
    CHECK(text_a == text_b);
    std::istringstream lines(text_a);
    for (std::string line; std::getline(lines, line);) pairs.push_back(line);
  }
  std::sort(pairs.begin(), pairs.end());
  // The most frequent translation over a headword's entries ("dog" twice), annotations
  // dropped ("(building)", "<n>", "[cook.]", "{f}"), the first item of a list, case kept.
  CHECK(pairs == std::vector<std::string>{"Essen\tmeal", "Haus\thouse", "Hund\tdog", "Kinderarzt\tpaediatrician",
                                          "Tisch\ttable", "Zeit\ttime", "essen\tto eat", "groß\tbig"});
  std::filesystem::remove_all(dir);
}
