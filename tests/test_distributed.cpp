// Data-parallel training (docs/distributed.md). The [distributed] tests run
// build/xseq under mpirun with 2 ranks on loopback and compare with one process
// that accumulates the same batches; without MPI support they say so and pass.
#include <fcntl.h>
#include <spawn.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "helpers.hpp"
#include "mpi_process.hpp"
#include "framework/distributed.hpp"
#include "train/distributed_training.hpp"
#include "train/trainer.hpp"

using namespace xseq;
using xseq::test::have_mpi;

namespace {

Config tiny(const std::string& out_dir, const std::string& model, const std::vector<std::string>& sets = {}) {
  std::vector<std::string> all{"train.out_dir=\"" + out_dir + "\"", "model.type=\"" + model + "\""};
  all.insert(all.end(), sets.begin(), sets.end());
  return parse_config(R"([data]
task = "copy"
task_train = 400
task_valid = 40
task_test = 40
task_min_len = 2
task_max_len = 8
task_alphabet = "abcdefgh"

[model]
d_model = 32
heads = 2
ff_dim = 64
encoder_layers = 1
decoder_layers = 1
dropout = 0.1
embed_dim = 16
hidden = 32

[train]
batch_size = 16
lr = 0.003
warmup_steps = 5
max_steps = 20
valid_every = 10
checkpoint_every = 10
log_every = 5
threads = 1
)",
                      "tiny.toml", all);
}

// Writes the config where mpirun's ranks can read it.
std::string write_config(const Config& c, const std::string& path) {
  std::ofstream(path) << c.to_toml();
  return path;
}

// Starts mpirun with one rank per app (an MPMD list), each `xseq app...`.
test::Process spawn_mpirun(const std::vector<std::vector<std::string>>& apps, const std::string& tag) {
  std::vector<std::string> words;
  for (std::size_t a = 0; a < apps.size(); ++a) {
    if (a > 0) words.push_back(":");
    words.insert(words.end(), {"-np", "1", XSEQ_CLI});
    words.insert(words.end(), apps[a].begin(), apps[a].end());
  }
  return test::start_mpirun(words, tag);
}

// mpirun to the end; returns the exit code.
int mpirun(const std::vector<std::vector<std::string>>& apps, const std::string& tag, std::string* err = nullptr) {
  return test::finish_mpirun(spawn_mpirun(apps, tag), err);
}

std::vector<std::string> train_args(const std::string& config, const std::string& out) {
  return {"train", config, "--out", out};
}

// The largest relative difference ||a - b|| / ||a|| over the parameters of two
// checkpoints. Attention key biases are left out: softmax ignores a constant added
// to all of a query's scores, so their exact gradient is zero, and Adam turns the
// float noise they do get (~1e-9, summed in another order) into full-size steps.
double max_relative_difference(const std::string& a_path, const std::string& b_path) {
  auto a = open_checkpoint(a_path), b = open_checkpoint(b_path);
  double worst = 0;
  for (const auto& name : a->datasets("params")) {
    if (name.find("attn/k/bias") != std::string::npos) continue;
    const Tensor x = a->read("params/" + name), y = b->read("params/" + name);
    REQUIRE(x.numel() == y.numel());
    double diff = 0, norm = 0;
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      diff += double(x.data()[i] - y.data()[i]) * double(x.data()[i] - y.data()[i]);
      norm += double(x.data()[i]) * double(x.data()[i]);
    }
    if (norm > 0) worst = std::max(worst, std::sqrt(diff / norm));
  }
  return worst;
}

std::size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

}  // namespace

TEST_CASE("distributed: without mpirun a process is rank 0 of 1 and its collectives change nothing",
          "[distributed]") {
  Communicator& comm = process_communicator();
  CHECK(comm.rank() == 0);
  CHECK(comm.size() == 1);
  CHECK(comm.describe() == "single process");
  double x[2] = {1.5, -2};
  comm.sum(x, 2);
  CHECK(x[0] == 1.5);
  CHECK(x[1] == -2);
  CHECK(comm.gather_all("abc") == std::vector<std::string>{"abc"});
  DataParallel one(comm);
  CHECK(one.share(3) == std::pair<std::int64_t, std::int64_t>{0, 3});
  CHECK_NOTHROW(one.check_same_run({{"config", "x"}}));
  // No MPI library in this process: xseq links none, and nothing loaded one.
  std::ifstream maps("/proc/self/maps");
  std::stringstream mapped;
  mapped << maps.rdbuf();
  CHECK(mapped.str().find("libmpi") == std::string::npos);
  CHECK(mapped.str().find("libxseq_mpi") == std::string::npos);
}

TEST_CASE("distributed: batch j of an update draws dropout from its own stretch of each generator",
          "[distributed]") {
  Rng init(1);
  const Config c = tiny("unused", "transformer");
  auto model = make_model(c.model, 12, 12, init);
  const auto rngs = model->named_rngs();
  REQUIRE(!rngs.empty());
  rngs[0].second->set_state(rngs[0].second->seed(), 100);
  {
    BatchRngStreams one(*model, 1);  // one batch per update: the generators' own sequence
    one.enter(0);
    rngs[0].second->reserve(7);
    one.finish();
    CHECK(rngs[0].second->counter() == 107);
  }
  BatchRngStreams four(*model, 4);
  four.enter(2);
  CHECK(rngs[0].second->counter() == 107 + 2 * (std::uint64_t(1) << 36));
  rngs[0].second->reserve(5);
  four.finish();
  CHECK(rngs[0].second->counter() == 107 + 4 * (std::uint64_t(1) << 36));
}

TEST_CASE("distributed: 2 ranks equal 1 process accumulating their 2 batches (20 steps with dropout)",
          "[distributed][e2e]") {
  if (!have_mpi()) return;
  const std::string dir = "test_distributed_equiv";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const char* model : {"transformer", "rnn_attention"}) {
    DYNAMIC_SECTION(model) {
      const std::string one = dir + "/one-" + model, two = dir + "/two-" + model;
      TrainOptions quiet;
      quiet.quiet = true;
      REQUIRE(train_model(tiny(one, model, {"train.accumulate=2"}), quiet).exit_code == 0);
      const std::string config = write_config(tiny(two, model), dir + "/" + model + ".toml");
      REQUIRE(mpirun({train_args(config, two), train_args(config, two)}, dir + "/run-" + model) == 0);
      const double rel = max_relative_difference(one + "/last.h5", two + "/last.h5");
      INFO("largest relative parameter difference " << rel);
      CHECK(rel <= 1e-5);
      CHECK(rel > 0);  // the sums run in another order: equal, not bit-identical
      // Rank 0 alone writes: every log line once.
      CHECK(count_lines(two + "/log.jsonl") == count_lines(one + "/log.jsonl"));
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("distributed: ranks started with different configs stop at start-up naming what differs",
          "[distributed][robust]") {
  if (!have_mpi()) return;
  const std::string dir = "test_distributed_mismatch";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string a = write_config(tiny(dir + "/run", "transformer"), dir + "/a.toml");
  const std::string b = write_config(tiny(dir + "/run", "transformer", {"train.lr=0.002"}), dir + "/b.toml");
  std::string err;
  CHECK(mpirun({train_args(a, dir + "/run"), train_args(b, dir + "/run")}, dir + "/run", &err) != 0);
  CHECK(err.find("rank 1 differs from rank 0 in: config (resolved)") != std::string::npos);
  CHECK(err.find("training data") == std::string::npos);  // the data are the same
  CHECK(!std::filesystem::exists(dir + "/run/last.h5"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("distributed: resume 2 -> 1 and 1 -> 2 ranks continues the run and 2 -> 2 is bit-identical",
          "[distributed][checkpoint][e2e]") {
  if (!have_mpi()) return;
  const std::string dir = "test_distributed_resume";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string model = "transformer";
  TrainOptions quiet;
  quiet.quiet = true;
  // The reference: one process accumulating 2 batches, 20 updates straight.
  REQUIRE(train_model(tiny(dir + "/straight", model, {"train.accumulate=2"}), quiet).exit_code == 0);
  const std::string config = write_config(tiny(dir + "/unused", model, {"train.max_steps=10"}), dir + "/c.toml");
  auto two_ranks = [&](const std::string& out, bool resume) {
    std::vector<std::string> args = train_args(config, out);
    if (resume) args.insert(args.end(), {"--resume", "--set", "train.max_steps=20"});
    return mpirun({args, args}, out + (resume ? "-resume" : "-start"));
  };
  SECTION("2 ranks, then 1 process with accumulate 2") {
    REQUIRE(two_ranks(dir + "/a", false) == 0);
    TrainOptions resume = quiet;
    resume.resume = true;
    REQUIRE(train_model(tiny(dir + "/a", model, {"train.accumulate=2"}), resume).exit_code == 0);
    CHECK(max_relative_difference(dir + "/straight/last.h5", dir + "/a/last.h5") <= 1e-5);
  }
  SECTION("1 process with accumulate 2, then 2 ranks") {
    REQUIRE(train_model(tiny(dir + "/b", model, {"train.accumulate=2", "train.max_steps=10"}), quiet).exit_code == 0);
    REQUIRE(two_ranks(dir + "/b", true) == 0);
    CHECK(max_relative_difference(dir + "/straight/last.h5", dir + "/b/last.h5") <= 1e-5);
  }
  SECTION("2 ranks, then 2 ranks: bit-identical to 2 ranks straight") {
    const std::string straight2 = write_config(tiny(dir + "/unused", model), dir + "/c20.toml");
    REQUIRE(mpirun({train_args(straight2, dir + "/s2"), train_args(straight2, dir + "/s2")}, dir + "/s2") == 0);
    REQUIRE(two_ranks(dir + "/c", false) == 0);
    REQUIRE(two_ranks(dir + "/c", true) == 0);
    auto a = open_checkpoint(dir + "/s2/last.h5"), b = open_checkpoint(dir + "/c/last.h5");
    for (const char* group : {"params", "optimizer"})
      for (const auto& name : a->datasets(group))
        REQUIRE(max_abs_diff(a->read(std::string(group) + "/" + name), b->read(std::string(group) + "/" + name)) == 0.0f);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("distributed: too few batches for the ranks is a clear error", "[distributed][robust]") {
  if (!have_mpi()) return;
  const std::string dir = "test_distributed_small";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  // 24 pairs in batches of 16: 2 batches per epoch, an update of 2 ranks x 2 needs 4.
  const std::string config = write_config(
      tiny(dir + "/run", "transformer", {"data.task_train=24", "train.accumulate=2"}), dir + "/c.toml");
  std::string err;
  CHECK(mpirun({train_args(config, dir + "/run"), train_args(config, dir + "/run")}, dir + "/run", &err) != 0);
  CHECK(err.find("batches per epoch") != std::string::npos);
  CHECK(err.find("error (rank") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("distributed: kill -9 of one rank ends the job, last.h5 stays intact and resumes", "[distributed][robust]") {
  if (!have_mpi()) return;
  const std::string dir = "test_distributed_kill";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string out = dir + "/run";
  const std::string config = write_config(
      tiny(out, "transformer", {"train.max_steps=100000", "train.checkpoint_every=5", "train.valid_every=100000"}),
      dir + "/c.toml");
  const test::Process job = spawn_mpirun({train_args(config, out), train_args(config, out)}, dir + "/job");
  // Wait for a checkpoint, then kill -9 the second rank (a child of mpirun).
  for (int i = 0; i < 600 && !std::filesystem::exists(out + "/last.h5"); ++i) ::usleep(50000);
  REQUIRE(std::filesystem::exists(out + "/last.h5"));
  std::ifstream children("/proc/" + std::to_string(job.pid) + "/task/" + std::to_string(job.pid) + "/children");
  std::vector<pid_t> ranks;
  for (pid_t p; children >> p;) ranks.push_back(p);
  REQUIRE(ranks.size() == 2);
  ::kill(ranks[1], SIGKILL);
  std::string err;
  CHECK(test::finish_mpirun(job, &err) != 0);
  CHECK(err.find("signal 9") != std::string::npos);
  // The checkpoint on disk is whole: one process resumes from it (2 ranks = accumulate 2).
  const std::int64_t step = std::stoll(open_checkpoint(out + "/last.h5")->attribute("step"));
  CHECK(step >= 5);
  TrainOptions resume;
  resume.quiet = true;
  resume.resume = true;
  const Config more = tiny(out, "transformer", {"train.accumulate=2", "train.max_steps=" + std::to_string(step + 5),
                                                "train.checkpoint_every=5", "train.valid_every=100000"});
  CHECK(train_model(more, resume).exit_code == 0);
  CHECK(std::stoll(open_checkpoint(out + "/last.h5")->attribute("step")) == step + 5);
  std::filesystem::remove_all(dir);
}
