// The command line never aborts: typed, range-checked flags are command-line
// errors (exit 2), failures while running are one "error:" line (exit 1), and
// translate prints what it decoded before it reports a bad line.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "helpers.hpp"
#include "process.hpp"
#include "tiny_config.hpp"
#include "tiny_run.hpp"
#include "cli/cli.hpp"
#include "train/trainer.hpp"

using namespace xseq;
using xseq::test::run_cli;
using xseq::test::run_xseq;

namespace {

// A directory with tiny.toml and a trained run (run/best.h5).
const std::string& tiny_run() { return xseq::test::tiny_run("test_robust_cli", 20); }

}  // namespace

TEST_CASE("flags are typed and range-checked: bad values are command-line errors", "[robust][cli]") {
  // None of these gets as far as opening the checkpoint: exit 2 before any work.
  for (const char* alpha : {"abc", "", "1e999", "0.6x", "-1", "nan"})
    CHECK(run_cli({"translate", "--checkpoint", "x.h5", "--alpha", alpha}) == 2);
  for (const char* beam : {"0", "4294967297", "-3", "2.5", "x"})
    CHECK(run_cli({"eval", "--checkpoint", "x.h5", "--data", "t.tsv", "--beam", beam}) == 2);
  CHECK(run_cli({"translate", "--checkpoint", "x.h5", "--threads", "4294967297"}) == 2);
  CHECK(run_cli({"translate", "--checkpoint", "x.h5", "--batch", "0"}) == 2);
  CHECK(run_cli({"translate", "--checkpoint", "x.h5", "--max-input", "0"}) == 2);
  CHECK(run_cli({"translate", "--checkpoint", "x.h5", "--input", "."}) == 2);  // a directory
  CHECK(run_cli({"translate", "--checkpoint", "x.h5", "--frobnicate"}) == 2);
  CHECK(run_cli({"translate"}) == 2);                                       // --checkpoint is required
  CHECK(run_cli({"train", "no/such/config.toml"}) == 2);
  CHECK(run_cli({"bench", "no/such/config.toml", "--steps", "0"}) == 2);
  CHECK(run_cli({"data", "make", "nosuchtask", "--out", "x"}) == 2);
  CHECK(run_cli({"average", "--out", "a.h5", "one.h5"}) == 2);              // at least two
  CHECK(run_cli({"demo", "--steps", "-1"}) == 2);
  CHECK(run_cli({"version"}) == 0);
  CHECK(run_cli({"train", "--help"}) == 0);
}

TEST_CASE("an unknown command is named, with the closest command and the list of commands", "[robust][cli]") {
  const std::string& dir = tiny_run();
  std::string out, err;
  CHECK(run_xseq({"trian", "x.toml"}, "", dir + "/u1", &out, &err) == 2);
  CHECK(err.find("error: unknown command 'trian'; did you mean 'train'?") != std::string::npos);
  CHECK(err.find("commands: train, config, translate, eval, score") != std::string::npos);
  CHECK(run_xseq({"frobnicate"}, "", dir + "/u2", &out, &err) == 2);
  CHECK(err.find("error: unknown command 'frobnicate'\n") != std::string::npos);  // nothing near: no guess
  CHECK(err.find("commands: ") != std::string::npos);
}

TEST_CASE("a failure while running is one error line and exit code 1", "[robust][cli]") {
  const std::string& dir = tiny_run();
  std::string out, err;
  std::ofstream(dir + "/a-file") << "x";
  CHECK(run_xseq({"train", dir + "/tiny.toml", "--out", dir + "/a-file/run"}, "", dir + "/p1", &out, &err) == 1);
  CHECK(err.find("error: cannot create the run directory '" + dir + "/a-file/run'") != std::string::npos);
  CHECK(err.find("Not a directory") != std::string::npos);
  CHECK(run_xseq({"eval", "--checkpoint", dir + "/tiny.toml", "--data", "x.tsv"}, "", dir + "/p2", &out, &err) == 1);
  CHECK(err.rfind("error: checkpoint '" + dir + "/tiny.toml'", 0) == 0);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
}

TEST_CASE("translate prints every line it decoded before reporting a bad one", "[robust][cli]") {
  const std::string& dir = tiny_run();
  std::string out, err;
  const int code = run_xseq({"translate", "--checkpoint", dir + "/run/best.h5"}, "abc\nbca\ncab\n\xff\xfe\ndef\n",
                            dir + "/p3", &out, &err);
  CHECK(code == 1);
  CHECK(std::count(out.begin(), out.end(), '\n') == 3);
  CHECK(err.find("<stdin>:4: invalid UTF-8 at byte 1") != std::string::npos);
  CHECK(run_xseq({"translate", "--checkpoint", dir + "/run/best.h5"}, std::string("ab\0c\n", 5), dir + "/p4", &out,
                 &err) == 1);
  CHECK(err.find("<stdin>:1: a NUL byte (U+0000) at byte 3") != std::string::npos);
}

TEST_CASE("translate and eval cut over-long inputs to --max-input instead of running out of memory", "[robust][cli]") {
  const std::string& dir = tiny_run();
  std::string out, err;
  const std::string long_line(20000, 'a');
  CHECK(run_xseq({"translate", "--checkpoint", dir + "/run/best.h5"}, "abc\n" + long_line + "\n", dir + "/p5", &out,
                 &err) == 0);
  CHECK(std::count(out.begin(), out.end(), '\n') == 2);
  CHECK(err.find("1 lines were longer than --max-input 12 tokens") != std::string::npos);  // data.max_len
  std::ofstream(dir + "/long.tsv") << "abc\tabc\n" << std::string(100000, 'b') << "\tbb\n";
  CHECK(run_xseq({"eval", "--checkpoint", dir + "/run/best.h5", "--data", dir + "/long.tsv", "--max-input", "40"}, "",
                 dir + "/p6", &out, &err) == 0);
  CHECK(err.find("1 pairs had a side longer than --max-input 40 tokens") != std::string::npos);
  CHECK(out.find("sentences          2") != std::string::npos);
}
