// The own-data path of docs/own-data.md, end to end with the stock CLI: a TSV ->
// xseq config init --data -> xseq data spm -> xseq train (with a time budget) ->
// xseq eval with a BLEU signature -> xseq metrics on the written hypotheses gives
// the same BLEU.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "helpers.hpp"
#include "process.hpp"

using xseq::test::run_xseq;

namespace {

std::string line_starting(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

}  // namespace

TEST_CASE("own data: config init, data spm, train with max_minutes, eval and metrics agree", "[e2e][own-data][cli]") {
  const std::string dir = "test_own_data-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string out, err;
  REQUIRE(run_xseq({"data", "make", "toy-translation", "--out", dir + "/data", "--train", "2000", "--valid", "100",
                    "--test", "100"},
                   "", dir + "/make", &out, &err) == 0);

  // A config for the TSV: it validates as it is, and names the files.
  REQUIRE(run_xseq({"config", "init", "--data", dir + "/data/train.tsv"}, "", dir + "/init", &out, &err) == 0);
  CHECK(out.find("train = \"" + dir + "/data/train.tsv\"") != std::string::npos);
  CHECK(out.find("valid = \"" + dir + "/data/valid.tsv\"   # found beside train") != std::string::npos);
  CHECK(out.find("metric = \"bleu\"") != std::string::npos);
  CHECK(out.find("max_len = 24") != std::string::npos);  // 1.5 x 14 words + 2, rounded up to 8
  std::ofstream(dir + "/my.toml") << out;
  REQUIRE(run_xseq({"config", dir + "/my.toml"}, "", dir + "/check", &out, &err) == 0);

  // SentencePiece ahead of training; a vocab size below what the characters need is raised.
  REQUIRE(run_xseq({"data", "spm", dir + "/data/train.tsv", "--vocab-size", "100", "--out", dir + "/spm", "--shared"},
                   "", dir + "/spm", &out, &err) == 0);
  CHECK(out.find("--vocab-size 100 is below the") != std::string::npos);
  CHECK(out.find("sentencepiece_model = \"" + dir + "/spm.model\"") != std::string::npos);
  REQUIRE(std::filesystem::exists(dir + "/spm.model"));

  // Train on it, small and briefly: the time budget ends the run as max_steps would.
  const std::vector<std::string> train{
      "train", dir + "/my.toml", "--out", dir + "/run", "--threads", "2",
      "--set", "data.sentencepiece_model=\"" + dir + "/spm.model\"",
      "--set", "data.max_len=128",  // a model of ~300 pieces cuts words into 3-5 pieces
      "--set", "model.d_model=32", "--set", "model.heads=2", "--set", "model.ff_dim=64",
      "--set", "model.encoder_layers=1", "--set", "model.decoder_layers=1",
      "--set", "train.batch_tokens=512", "--set", "train.warmup_steps=50",
      "--set", "train.max_steps=1000000", "--set", "train.max_minutes=0.1", "--set", "train.patience=0",
      "--set", "train.valid_every=40", "--set", "train.checkpoint_every=40", "--set", "train.valid_max_sentences=50"};
  REQUIRE(run_xseq(train, "", dir + "/train", &out, &err) == 0);
  INFO(err);
  CHECK(err.find("stopped (max_minutes)") != std::string::npos);
  REQUIRE(std::filesystem::exists(dir + "/run/best.h5"));

  // Evaluate: BLEU with its signature; the hypotheses scored again by xseq metrics.
  REQUIRE(run_xseq({"eval", "--checkpoint", dir + "/run/best.h5", "--data", dir + "/data/test.tsv", "--hyps",
                    dir + "/hyps.txt"},
                   "", dir + "/eval", &out, &err) == 0);
  const std::string eval_bleu = line_starting(out, "BLEU = ");
  CHECK(eval_bleu.find(" nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:xseq-") != std::string::npos);
  CHECK(line_starting(out, "chrF2 = ").find("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|") != std::string::npos);
  {
    std::ifstream tsv(dir + "/data/test.tsv");
    std::ofstream refs(dir + "/refs.txt");
    for (std::string line; std::getline(tsv, line);) refs << line.substr(line.find('\t') + 1) << "\n";
  }
  REQUIRE(run_xseq({"metrics", "--hyps", dir + "/hyps.txt", "--refs", dir + "/refs.txt"}, "", dir + "/metrics", &out,
                   &err) == 0);
  CHECK(line_starting(out, "BLEU = ") == eval_bleu);
  // Mismatched line counts are an error naming both files.
  std::ofstream(dir + "/short.txt") << "one line\n";
  CHECK(run_xseq({"metrics", "--hyps", dir + "/hyps.txt", "--refs", dir + "/short.txt"}, "", dir + "/m2", &out, &err) ==
        1);
  CHECK(err.find("has 100 lines but --refs '" + dir + "/short.txt' has 1") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("own data: vocabulary files and per-side SentencePiece models are used by training", "[own-data][data]") {
  const std::string dir = "test_own_vocab-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string out, err;
  REQUIRE(run_xseq({"data", "make", "toy-translation", "--out", dir + "/data", "--train", "500", "--valid", "50",
                    "--test", "50"},
                   "", dir + "/make", &out, &err) == 0);
  REQUIRE(run_xseq({"data", "spm", dir + "/data/train.tsv", "--vocab-size", "300", "--out", dir + "/spm"}, "",
                   dir + "/spm", &out, &err) == 0);
  const std::string models = dir + "/spm.src.model," + dir + "/spm.tgt.model";
  CHECK(out.find("sentencepiece_model = \"" + models + "\"") != std::string::npos);
  REQUIRE(run_xseq({"data", "vocab", dir + "/data/train.tsv", "--out", dir + "/vocab", "--tokenizer", "sentencepiece",
                    "--sentencepiece-model", models},
                   "", dir + "/vocab", &out, &err) == 0);
  CHECK(out.find("target_vocab = \"" + dir + "/vocab/vocab.tgt\"") != std::string::npos);
  REQUIRE(run_xseq({"data", "stats", dir + "/data/train.tsv", "--tokenizer", "sentencepiece", "--sentencepiece-model",
                    dir + "/spm.src.model"},
                   "", dir + "/stats", &out, &err) == 0);
  const std::vector<std::string> train{
      "train", "--out", dir + "/run", "--threads", "1", dir + "/data.toml"};
  std::ofstream(dir + "/data.toml") << "[data]\ntrain = \"" << dir << "/data/train.tsv\"\nvalid = \"" << dir
                                    << "/data/valid.tsv\"\ntokenizer = \"sentencepiece\"\nsentencepiece_model = \""
                                    << models << "\"\nshared_vocab = false\nsource_vocab = \"" << dir
                                    << "/vocab/vocab.src\"\ntarget_vocab = \"" << dir << "/vocab/vocab.tgt\"\n"
                                    << "[model]\nd_model = 32\nheads = 2\nff_dim = 64\nencoder_layers = 1\n"
                                    << "decoder_layers = 1\n[train]\nmax_steps = 10\nvalid_every = 10\n"
                                    << "checkpoint_every = 10\nbatch_size = 16\n";
  REQUIRE(run_xseq(train, "", dir + "/train", &out, &err) == 0);
  // The checkpoint carries both models and translates with them.
  REQUIRE(run_xseq({"translate", "--checkpoint", dir + "/run/last.h5"}, "my sad map .\n", dir + "/tr", &out, &err) == 0);
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
  // A missing vocabulary file is an error with the path as written and resolved.
  std::ofstream(dir + "/bad.toml") << "[data]\ntrain = \"" << dir << "/data/train.tsv\"\nvalid = \"" << dir
                                   << "/data/valid.tsv\"\nsource_vocab = \"no/such.vocab\"\n";
  CHECK(run_xseq({"train", dir + "/bad.toml", "--out", dir + "/bad"}, "", dir + "/bad", &out, &err) == 1);
  CHECK(err.find("cannot open 'no/such.vocab' (resolved: /") != std::string::npos);
  std::filesystem::remove_all(dir);
}
