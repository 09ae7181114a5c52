// Sharded eval and translate under mpirun (docs/distributed.md, "Eval and
// translate"): 2 ranks on loopback print and write exactly what one process does.
// Without MPI support the mpirun tests say so and pass.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "helpers.hpp"
#include "mpi_process.hpp"
#include "process.hpp"
#include "tiny_config.hpp"
#include "framework/distributed.hpp"
#include "framework/distributed_gather.hpp"
#include "train/trainer.hpp"

using namespace xseq;
using xseq::test::have_mpi;
using xseq::test::Process;

namespace {

// `mpirun -np 2 xseq args...`; returns the exit code, stdout and stderr.
int mpirun2(const std::vector<std::string>& args, const std::string& tag, std::string* out, std::string* err) {
  std::vector<std::string> words{"-np", "2", XSEQ_CLI};
  words.insert(words.end(), args.begin(), args.end());
  const Process p = test::start_mpirun(words, tag);
  const int code = test::finish_mpirun(p, err);
  *out = p.out();
  return code;
}

// A tiny copy model trained well enough that some outputs are right and some
// wrong (metrics neither 0 nor 1), and 37 test pairs: 5 batches of 8, which 2
// ranks split 2 + 3, in DIR/run/last.h5.
const std::string kDir = "test_distributed_eval";

void train_tiny_model(const std::string& dir) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  TrainOptions quiet;
  quiet.quiet = true;
  const Config c = parse_config(test::kTinyCopyConfig, "tiny.toml", {"train.out_dir=\"" + dir + "/run\"",
                                                                     "train.max_steps=150"});
  REQUIRE(train_model(c, quiet).exit_code == 0);
  std::mt19937 rng(3);
  std::ofstream tsv(dir + "/test.tsv"), src(dir + "/test.src");
  for (int i = 0; i < 37; ++i) {
    std::string s;
    for (std::size_t n = 2 + rng() % 5; s.size() < n;) s += "abcdef"[rng() % 6];
    tsv << s << "\t" << s << "\n";
    src << s << "\n";
  }
}

// Each test case trains its own in its own directory (CTest runs them in
// parallel, and each cleans up after itself).
std::string tiny_model(const std::string& dir) {
  train_tiny_model(dir);
  return dir + "/run/last.h5";
}

std::string slurp(const std::string& path) { return Process::slurp(path); }

// The metrics without the timing fields.
std::string without_timing(const std::string& json_text) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(json_text);
  j.erase("sentences_per_s");
  j.erase("tokens_per_s");
  return j.dump();
}

std::string lines_without_timing(const std::string& text) {
  std::string out, line;
  std::istringstream in(text);
  while (std::getline(in, line))
    if (line.find("_per_s") == std::string::npos) out += line + "\n";
  return out;
}

}  // namespace

TEST_CASE("distributed: the contiguous share of a rank and the exact packing of gathered results", "[distributed]") {
  Communicator& one = process_communicator();
  CHECK(contiguous_share(5, one) == std::pair<std::int64_t, std::int64_t>{0, 5});
  Packer p;
  p.put(0.1 + 0.2);
  p.put(std::int64_t{-7});
  p.put(std::string("a\tb\n\0c", 6));
  Unpacker u(p.bytes());
  CHECK(u.real() == 0.1 + 0.2);  // bit for bit, not printed and parsed
  CHECK(u.integer() == -7);
  CHECK(u.text() == std::string("a\tb\n\0c", 6));
  CHECK(u.done());
  CHECK_THROWS_WITH(u.integer(), Catch::Contains("shorter than its contents"));
}

TEST_CASE("distributed: eval (greedy, beam) and score on 2 ranks print and write exactly what one process does",
          "[distributed][e2e]") {
  if (!have_mpi()) return;
  const std::string dir = kDir + "-eval";
  const std::string ckpt = tiny_model(dir);
  std::string out1, err1, out2, err2;
  for (const std::vector<std::string>& decode : {std::vector<std::string>{}, std::vector<std::string>{"--beam", "3"}}) {
    const std::string name = decode.empty() ? "greedy" : "beam";
    INFO(name);
    auto args = [&](const std::string& tag) {
      std::vector<std::string> a{"eval", "--checkpoint", ckpt, "--data", dir + "/test.tsv", "--batch", "8",
                                 "--threads", "1", "--json", dir + "/" + tag + ".json", "--hyps",
                                 dir + "/" + tag + ".hyps"};
      a.insert(a.end(), decode.begin(), decode.end());
      return a;
    };
    REQUIRE(test::run_xseq(args("one-" + name), "", dir + "/one-" + name, &out1, &err1) == 0);
    REQUIRE(mpirun2(args("two-" + name), dir + "/two-" + name, &out2, &err2) == 0);
    const auto metrics = nlohmann::json::parse(slurp(dir + "/one-" + name + ".json"));
    CHECK(metrics["exact_match"].get<double>() > 0);  // a comparison of real outputs
    CHECK(metrics["exact_match"].get<double>() < 1);
    CHECK(metrics["sentences"].get<double>() == 37);
    CHECK(slurp(dir + "/two-" + name + ".hyps") == slurp(dir + "/one-" + name + ".hyps"));
    CHECK(without_timing(slurp(dir + "/two-" + name + ".json")) ==
          without_timing(slurp(dir + "/one-" + name + ".json")));
    CHECK(lines_without_timing(out2) == lines_without_timing(out1));  // rank 0 alone prints
  }
  // xseq score scores groups of 16 batches: with --batch 2, 2 groups (32 + 5 pairs), one per rank.
  const std::vector<std::string> score{"score", "--checkpoint", ckpt, "--data", dir + "/test.tsv",
                                       "--batch", "2", "--threads", "1"};
  REQUIRE(test::run_xseq(score, "", dir + "/score-one", &out1, &err1) == 0);
  REQUIRE(mpirun2(score, dir + "/score-two", &out2, &err2) == 0);
  CHECK(std::count(out1.begin(), out1.end(), '\n') == 37);
  CHECK(out2 == out1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("distributed: translate on 2 ranks prints exactly what one process does (greedy, n-best, sampling)",
          "[distributed][e2e]") {
  if (!have_mpi()) return;
  const std::string dir = kDir + "-translate";
  const std::string ckpt = tiny_model(dir);
  std::string out1, err1, out2, err2;
  for (const std::vector<std::string>& decode :
       {std::vector<std::string>{}, std::vector<std::string>{"--beam", "3", "--n-best", "2"},
        std::vector<std::string>{"--sample", "--seed", "5"}}) {
    const std::string name = decode.empty() ? "greedy" : decode[0].substr(2);
    INFO(name);
    // 37 lines in batches of 5: 8 batches, 4 per rank, the last one short.
    std::vector<std::string> args{"translate", "--checkpoint", ckpt, "--input", dir + "/test.src",
                                  "--batch",   "5",          "--threads", "1"};
    args.insert(args.end(), decode.begin(), decode.end());
    REQUIRE(test::run_xseq(args, "", dir + "/t1-" + name, &out1, &err1) == 0);
    REQUIRE(mpirun2(args, dir + "/t2-" + name, &out2, &err2) == 0);
    CHECK(std::count(out1.begin(), out1.end(), '\n') == (name == "beam" ? 74 : 37));
    CHECK(out2 == out1);
    CHECK(err2 == err1);  // the summary (unknown tokens), once
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("distributed: translate on 2 ranks reports a bad line as one process does, and refuses --alignments",
          "[distributed][robust]") {
  if (!have_mpi()) return;
  const std::string dir = kDir + "-badline";
  const std::string ckpt = tiny_model(dir);
  std::ofstream(dir + "/bad.src") << "abc\nbad\x01line\ncab\n";
  std::string out1, err1, out2, err2;
  const std::vector<std::string> args{"translate", "--checkpoint", ckpt, "--input", dir + "/bad.src", "--batch", "1"};
  CHECK(test::run_xseq(args, "", dir + "/one", &out1, &err1) == 1);
  CHECK(mpirun2(args, dir + "/two", &out2, &err2) != 0);
  CHECK(out2 == out1);  // the line before the bad one, and nothing after it
  CHECK(std::count(out2.begin(), out2.end(), '\n') == 1);
  CHECK(err2.find("bad.src:2: control character U+0001") != std::string::npos);
  std::vector<std::string> align{"translate", "--checkpoint", ckpt, "--input", dir + "/test.src",
                                 "--alignments", dir + "/a.json"};
  CHECK(mpirun2(align, dir + "/align", &out2, &err2) != 0);
  CHECK(err2.find("--alignments and --attention-svg are not supported under mpirun (2 ranks)") != std::string::npos);
  CHECK(out2.empty());
  std::filesystem::remove_all(dir);
}
