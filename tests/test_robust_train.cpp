// Training under faults: SIGTERM saves like Ctrl-C, log.jsonl has each step once
// after a crash and resume, a diverging run stops before it overwrites good
// checkpoints, a checkpoint with edited progress attributes is a clear error.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "helpers.hpp"
#include "process.hpp"
#include "tiny_config.hpp"
#include "eval/evaluation.hpp"
#include "eval/report.hpp"
#include "train/trainer.hpp"
#include "decode/trained_model.hpp"

using namespace xseq;

namespace {

Config tiny(const std::string& out_dir) {
  return parse_config(xseq::test::kTinyCopyConfig, "tiny.toml", {"train.out_dir=\"" + out_dir + "\""});
}

std::vector<double> logged_steps(const std::string& log_path) {
  std::ifstream in(log_path);
  std::vector<double> steps;
  for (std::string line; std::getline(in, line);) {
    const auto m = parse_log_line(line);
    if (!m.count("valid") && !m.count("test")) steps.push_back(m.at("step"));
  }
  return steps;
}

}  // namespace

TEST_CASE("SIGTERM saves last.h5 like Ctrl-C and exits with 128 + 15", "[robust][train]") {
  const std::string dir = "test_robust_sigterm";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/c.toml") << tiny(dir + "/run").to_toml();
  const auto p = xseq::test::start_xseq({"train", dir + "/c.toml", "--set", "train.max_steps=1000000"}, "", dir + "/p");
  // Wait until training is under way (its log has a line), then stop it the way Slurm or Docker would.
  for (int i = 0; i < 600 && logged_steps(dir + "/run/log.jsonl").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::kill(p.pid, SIGTERM);
  CHECK(p.wait() == 143);
  CHECK(p.err().find("interrupted (SIGTERM)") != std::string::npos);
  auto file = open_checkpoint(dir + "/run/last.h5");
  CHECK(std::stoll(file->attribute("step")) >= 5);
  file.reset();
  std::filesystem::remove_all(dir);
}

TEST_CASE("after a crash and --resume, log.jsonl has each step once", "[robust][train]") {
  const std::string dir = "test_robust_log";
  std::filesystem::remove_all(dir);
  Config c = tiny(dir);
  // Dies at step 27: last.h5 is from step 20, the log already has steps 25.
  TrainOptions crash{false, true, [](std::int64_t step, Seq2SeqModel&) {
                       if (step == 27) throw std::runtime_error("simulated crash");
                     }};
  CHECK_THROWS_WITH(train_model(c, crash), "simulated crash");
  CHECK(logged_steps(dir + "/log.jsonl").back() == 25);
  REQUIRE(train_model(c, TrainOptions{true, true, nullptr}).exit_code == 0);
  const std::vector<double> steps = logged_steps(dir + "/log.jsonl");
  CHECK(steps == std::vector<double>{5, 10, 15, 20, 25, 30, 35, 40});
  std::filesystem::remove_all(dir);
}

TEST_CASE("a diverging run stops before the update and keeps its checkpoints", "[robust][train]") {
  const std::string dir = "test_robust_diverge";
  std::filesystem::remove_all(dir);
  Config c = tiny(dir);
  c.train.max_steps = 20;
  REQUIRE(train_model(c, TrainOptions{false, true, nullptr}).exit_code == 0);
  const auto before = xseq::test::Process::slurp(dir + "/last.h5");
  Config hot = c;
  hot.train.max_steps = 200;
  hot.train.lr = 100.0;  // Adam at lr 100: the loss explodes within a few steps
  const TrainResult r = train_model(hot, TrainOptions{true, true, nullptr});
  CHECK(r.exit_code == 1);
  CHECK(r.stop_reason == "diverged");
  CHECK(r.steps < 40);
  CHECK(xseq::test::Process::slurp(dir + "/last.h5") == before);
  std::filesystem::remove_all(dir);
}

TEST_CASE("resume: a missing or edited progress attribute is an error naming it", "[robust][train][checkpoint]") {
  const std::string dir = "test_robust_attrs";
  std::filesystem::remove_all(dir);
  Config c = tiny(dir);
  c.train.max_steps = 10;
  REQUIRE(train_model(c, TrainOptions{false, true, nullptr}).exit_code == 0);
  const TrainedModel trained = load_trained_model(dir + "/last.h5");
  const auto optimizer = make_optimizer("adam", trained.model->named_parameters(), 0, 0, 0.9f, 0.98f, 1e-9f);
  auto rewrite = [&](const std::string& key, const std::string& value) {
    CheckpointExtras extras;
    trained.pipeline.save(extras);
    for (const auto& [k, v] : std::map<std::string, std::string>{{"step", "10"}, {"epoch", "0"}, {"batch", "10"},
                                                                  {"best_metric", "0.5"}, {"bad_validations", "0"},
                                                                  {"config", c.to_toml()}})
      extras.attributes[k] = v;
    if (value.empty()) extras.attributes.erase(key);
    else extras.attributes[key] = value;
    save_checkpoint(dir + "/last.h5", *trained.model, optimizer.get(), extras);
  };
  c.train.max_steps = 20;
  const TrainOptions resume{true, true, nullptr};
  rewrite("step", "12abc");
  CHECK_THROWS_WITH(train_model(c, resume), Catch::Contains("attribute 'step' is '12abc', expected an integer"));
  rewrite("step", "99999999999999999999");
  CHECK_THROWS_WITH(train_model(c, resume), Catch::Contains("attribute 'step'"));
  rewrite("best_metric", "");
  CHECK_THROWS_WITH(train_model(c, resume), Catch::Contains("has no attribute 'best_metric'"));
  rewrite("epoch", "-4");
  CHECK_THROWS_WITH(train_model(c, resume), Catch::Contains("attribute 'epoch' is '-4'"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("temporary checkpoint files of dead processes are removed when training starts", "[robust][train]") {
  const std::string dir = "test_robust_litter";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  // A pid that cannot be running: above the kernel's pid_max.
  std::ofstream(dir + "/last.h5.tmp-99999999") << "half a checkpoint";
  const std::string live = dir + "/other.h5.tmp-" + std::to_string(::getpid());
  std::ofstream(live) << "being written by a live process";
  Config c = tiny(dir);
  c.train.max_steps = 5;
  REQUIRE(train_model(c, TrainOptions{false, true, nullptr}).exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(dir + "/last.h5.tmp-99999999"));
  CHECK(std::filesystem::exists(live));
  std::filesystem::remove_all(dir);
}
