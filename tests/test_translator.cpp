// xseq::Translator, the public inference API (decode/translator.hpp): equal to
// the CLI, safe and equal under concurrent callers, and every bad input is an
// exception of the documented xseq::Error family.
#include <omp.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "decode/translator.hpp"
#include "helpers.hpp"
#include "process.hpp"
#include "tiny_config.hpp"
#include "tiny_run.hpp"
#include "train/trainer.hpp"

using namespace xseq;
using xseq::test::run_xseq;

namespace {

// A run directory with a partly trained tiny model (run/last.h5).
const std::string& tiny_model() { return xseq::test::tiny_run("test_translator", 60); }
std::string checkpoint() { return tiny_model() + "/run/last.h5"; }

// Random strings over the task's alphabet, 1 to 10 letters (and a few empty ones).
std::vector<std::string> sentences(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::string s;
    const auto length = i % 37 == 5 ? 0 : 1 + rng.below(10);
    for (std::uint64_t k = 0; k < length; ++k) s += char('a' + rng.below(6));
    out.push_back(s);
  }
  return out;
}

bool same(const Translation& a, const Translation& b) {
  if (a.text != b.text || a.tokens != b.tokens || std::memcmp(&a.score, &b.score, sizeof a.score) != 0 ||
      a.hypotheses.size() != b.hypotheses.size())
    return false;
  for (std::size_t k = 0; k < a.hypotheses.size(); ++k)
    if (a.hypotheses[k].text != b.hypotheses[k].text ||
        std::memcmp(&a.hypotheses[k].score, &b.hypotheses[k].score, sizeof(double)) != 0)
      return false;
  return true;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  return all;
}

}  // namespace

TEST_CASE("Translator: the same text as xseq translate, greedy, beam and n-best", "[api][decode]") {
  const std::vector<std::string> input = sentences(40, 3);
  TranslatorOptions o;
  o.threads = 1;
  const Translator greedy(checkpoint(), o);
  std::string cli;
  REQUIRE(run_xseq({"translate", "--checkpoint", checkpoint()}, joined(input), tiny_model() + "/t1", &cli) == 0);
  std::string api;
  for (const Translation& t : greedy.translate(input)) api += t.text + "\n";
  CHECK(api == cli);

  o.beam = 4;
  o.n_best = 3;
  const Translator nbest(checkpoint(), o);
  REQUIRE(run_xseq({"translate", "--checkpoint", checkpoint(), "--beam", "4", "--n-best", "3"}, joined(input),
                   tiny_model() + "/t2", &cli) == 0);
  std::ostringstream lines;
  const auto results = nbest.translate(input);
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].source_tokens.empty()) {
      lines << i << "\t\t0\t0\n";
      continue;
    }
    REQUIRE(results[i].hypotheses.size() <= 3);
    for (const Translation& h : results[i].hypotheses) {
      char scores[96];
      std::snprintf(scores, sizeof scores, "\t%.6f\t%.6f\n", h.normalized_score, h.score);
      lines << i << "\t" << h.text << scores;
    }
  }
  CHECK(lines.str() == cli);
  // The first entry is the translation itself; entries are best first.
  for (const Translation& t : results) {
    CHECK(t.hypotheses[0].text == t.text);
    for (std::size_t k = 1; k < t.hypotheses.size(); ++k)
      CHECK(t.hypotheses[k - 1].normalized_score >= t.hypotheses[k].normalized_score);
  }
}

TEST_CASE("Translator: score equals xseq score, per token and in total", "[api][decode]") {
  std::vector<std::string> src = sentences(12, 4), tgt = sentences(12, 5);
  for (auto* side : {&src, &tgt})
    for (auto& s : *side)
      if (s.empty()) s = "a";  // a TSV pair needs both sides
  std::string tsv;
  for (std::size_t i = 0; i < src.size(); ++i) tsv += src[i] + "\t" + tgt[i] + "\n";
  const std::string data = tiny_model() + "/pairs.tsv";
  std::ofstream(data) << tsv;
  std::string cli;
  REQUIRE(run_xseq({"score", "--checkpoint", checkpoint(), "--data", data}, "", tiny_model() + "/s1", &cli) == 0);
  TranslatorOptions o;
  o.threads = 1;
  const auto scores = Translator(checkpoint(), o).score(src, tgt);
  std::string api;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const TargetScore& s = scores[i];
    REQUIRE(s.tokens.size() == s.token_log_probs.size());
    CHECK(s.tokens.back() == "</s>");
    double total = 0;
    for (double lp : s.token_log_probs) total += lp;
    CHECK(total == s.log_prob);  // summed in the same order
    char line[128];
    std::snprintf(line, sizeof line, "%zu\t%.6f\t%.6f\t%zu\n", i, s.log_prob, s.log_prob / double(s.tokens.size()),
                  s.tokens.size());
    api += line;
  }
  CHECK(api == cli);
}

TEST_CASE("Translator: 4 threads x 200 sentences at once give each one the single-thread output",
          "[api][decode][threads]") {
  const std::vector<std::string> input = sentences(200, 7);
  TranslatorOptions o;
  o.threads = 1;
  o.beam = 2;
  const std::vector<Translation> reference = Translator(checkpoint(), o).translate(input);
  for (int workers : {4, 2}) {  // 2: callers also wait for a free worker
    o.workers = workers;
    const Translator shared(checkpoint(), o);
    std::vector<std::vector<Translation>> got(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        // Each thread sends the sentences in its own order and batch sizes.
        for (std::size_t start = 0; start < input.size();) {
          const std::size_t n = std::min<std::size_t>(input.size() - start, std::size_t(7 + 11 * t));
          const std::vector<std::string> part(input.begin() + std::ptrdiff_t(start),
                                              input.begin() + std::ptrdiff_t(start + n));
          for (auto& r : shared.translate(part)) got[std::size_t(t)].push_back(std::move(r));
          start += n;
        }
      });
    for (auto& t : threads) t.join();
    for (int t = 0; t < 4; ++t) {
      REQUIRE(got[std::size_t(t)].size() == reference.size());
      for (std::size_t i = 0; i < reference.size(); ++i) {
        INFO("workers " << workers << ", thread " << t << ", sentence " << i);
        REQUIRE(same(got[std::size_t(t)][i], reference[i]));
      }
    }
  }
}

TEST_CASE("Translator: a call's thread count is its own thread's", "[api][threads]") {
  TranslatorOptions o;
  o.threads = 1;
  const Translator one(checkpoint(), o);
  const int before = omp_get_max_threads();
  one.translate({"abc"});
  CHECK(omp_get_max_threads() == before);
  CHECK(one.threads() == 1);
  o.threads = -1;  // the checkpoint's train.threads (1 in the tiny config)
  CHECK(Translator(checkpoint(), o).threads() == 1);
}

TEST_CASE("Translator: empty text, length caps, attention and pre-tokenised input", "[api][decode]") {
  TranslatorOptions o;
  o.threads = 1;
  o.attention = true;
  const Translator t(checkpoint(), o);
  const auto out = t.translate({"", "abcdef"});
  CHECK(out[0].text.empty());
  CHECK(out[0].score == 0.0);
  CHECK(out[0].hypotheses.size() == 1);
  const Translation& r = out[1];
  CHECK(r.source_tokens == std::vector<std::string>{"a", "b", "c", "d", "e", "f"});
  REQUIRE(r.attention.size() == r.tokens.size() + (r.ended ? 1 : 0));
  for (const auto& row : r.attention) {
    REQUIRE(row.size() == 6);
    double sum = 0;
    for (float w : row) sum += w;
    CHECK(sum == Approx(1.0).margin(1e-4));
  }
  CHECK(r.head_attention.size() == r.attention.size());
  CHECK(t.translate_tokens({{"a", "b", "c", "d", "e", "f"}})[0].text == r.text);
  SearchOptions capped = o;
  capped.max_len = 2;
  for (const auto& c : t.translate({"abcdef", "fedcba"}, capped)) CHECK(c.tokens.size() <= 2);
  CHECK(t.tokenize("abc") == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("Translator: bad checkpoints, options and input are xseq::Error subclasses", "[api][robust]") {
  TranslatorOptions o;
  o.threads = 1;
  try {
    Translator("no/such/model.h5", o);
    FAIL("expected CheckpointError");
  } catch (const CheckpointError& e) {
    CHECK(e.missing());
    CHECK(std::string(e.what()).find("no/such/model.h5") != std::string::npos);
  }
  const std::string not_h5 = tiny_model() + "/not-a-checkpoint.h5";
  std::ofstream(not_h5) << "hello";
  try {
    Translator(not_h5, o);
    FAIL("expected CheckpointError");
  } catch (const CheckpointError& e) {
    CHECK_FALSE(e.missing());
  }
  auto bad = [&](auto change, const char* expected) {
    TranslatorOptions b = o;
    change(b);
    try {
      Translator(checkpoint(), b);
      FAIL("expected OptionError: " << expected);
    } catch (const OptionError& e) {
      CHECK_THAT(e.what(), Catch::Contains(expected));
    }
  };
  bad([](TranslatorOptions& b) { b.beam = 0; }, "beam must be in [1, 256]");
  bad([](TranslatorOptions& b) { b.n_best = 3; }, "n_best 3 needs a beam of at least 3");
  bad([](TranslatorOptions& b) { b.sample = true, b.beam = 2; }, "cannot be combined with beam 2");
  bad([](TranslatorOptions& b) { b.top_p = 0; }, "top_p must be in (0, 1]");
  bad([](TranslatorOptions& b) { b.workers = 0; }, "workers must be in [1, 1024]");
  bad([](TranslatorOptions& b) { b.batch_size = 0; }, "batch_size must be in [1, 65536]");
  const Translator t(checkpoint(), o);
  SearchOptions s = o;
  s.temperature = -1;
  CHECK_THROWS_AS(t.translate({"abc"}, s), OptionError);
  CHECK_THROWS_AS(t.translate({std::string("ab\xff")}), InputError);   // not UTF-8
  CHECK_THROWS_AS(t.translate({std::string("a\x1b[2J")}), InputError);  // a control character
  CHECK_THROWS_AS(t.score({"abc"}, {}), InputError);
  TranslatorOptions strict = o;
  strict.max_input = 4;
  strict.truncate = false;
  CHECK_THROWS_WITH(Translator(checkpoint(), strict).translate({"abcdef"}),
                    Catch::Contains("more than max_input 4 (truncate is off)"));
  strict.truncate = true;
  const auto cut = Translator(checkpoint(), strict).translate({"abcdef"});
  CHECK(cut[0].truncated);
  CHECK(cut[0].source_tokens.size() == 4);
  // Every one of them is an xseq::Error, so one catch handles all.
  CHECK_THROWS_AS(Translator("no/such/model.h5", o), Error);
}
