// BLEU and chrF against sacreBLEU 2.6.0's numbers (scripts/sacrebleu_reference.py
// prints them; the corpora below are the same).
#include "helpers.hpp"
#include "eval/metrics.hpp"

using namespace xseq;

namespace {
struct Case {
  const char* name;
  std::vector<std::string> hyps, refs;
  double bleu, chrf;  // sacreBLEU's corpus_bleu / corpus_chrf scores
};
}  // namespace

TEST_CASE("13a tokenisation", "[eval][metrics]") {
  // Expected strings: sacreBLEU's Tokenizer13a on the same input.
  CHECK(tokenize_13a("It is 3.5 km-long, isn't it?") == "It is 3.5 km-long , isn't it ?");
  CHECK(tokenize_13a("&quot;Hi&quot; 1-2 a.b") == "\" Hi \" 1 - 2 a . b");
  CHECK(tokenize_13a("10,000.5 end.") == "10,000.5 end .");
  CHECK(tokenize_13a("  spaced   out  ") == "spaced out");
}

TEST_CASE("corpus BLEU and chrF equal sacreBLEU's to 0.01", "[eval][metrics]") {
  const std::vector<Case> cases = {
      {"simple", {"The cat sat on the mat.", "It is 3.5 km-long, isn't it?"},
       {"The cat is on the mat.", "It is 3.5 km long, is not it?"}, 29.581947, 67.481763},
      {"unicode", {"Größe: 1.000,50 € — naïve café", "中文 句子 测试", "ЖУК и паук"},
       {"Größe 1.000,50 € - naive café", "中文 句子 测验", "жук и паук"}, 16.943572, 55.139310},
      {"punctuation", {"&quot;Hello&quot;, said (she) [to] {him}: yes/no; 1-2-3 a.b.c", "x<skipped>y 10,000.5 end."},
       {"\"Hello,\" she said (to him): yes / no; 1 - 2 - 3 a. b. c", "xy 10,000.5 end ."}, 60.518367, 62.471695},
      {"empty_and_short", {"", "a", "a b"}, {"a b c d", "a", "b a"}, 0.0, 24.193548},
      {"spaces", {"two  spaces\u00a0nbsp\u3000ideo  ", "tab\there  "}, {"two spaces nbsp ideo", "tab here"}, 100.0, 100.0},
      {"dates", {"1996-03-05", "2004-10-03", "1971-12-17", "2042-06-18"},
       {"1996-03-05", "2004-10-30", "1971-12-17", "2024-06-18"}, 83.759224, 81.822090},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(corpus_bleu(c.hyps, c.refs) == Approx(c.bleu).margin(0.01));
    CHECK(corpus_chrf(c.hyps, c.refs) == Approx(c.chrf).margin(0.01));
  }
  CHECK_THROWS_WITH(corpus_bleu({"a"}, std::vector<std::string>{}), "BLEU: 1 hypotheses but 0 references");
}

TEST_CASE("BLEU and chrF with several reference sets equal sacreBLEU's", "[metrics]") {
  // sacreBLEU 2.6.0, default signatures (nrefs:2 / nrefs:3), computed with its
  // corpus_bleu(hyps, [stream1, stream2, ...]) and corpus_chrf.
  const std::vector<std::string> hyps{"the cat sat on the mat", "a quick brown fox jumps", "hello world",
                                      "it is raining today"};
  const std::vector<std::vector<std::string>> two{
      {"the cat is on the mat", "the quick brown fox jumped", "hello there world", "it rains today"},
      {"there is a cat on the mat", "a fast brown fox jumps", "hello world !", "today it is raining"}};
  CHECK(corpus_bleu(hyps, two) == Approx(37.162496330782666).margin(1e-9));
  CHECK(corpus_chrf(hyps, two) == Approx(76.28504132533644).margin(1e-9));
  // The brevity penalty takes the closest reference length (the shorter on a tie: 2 for 3 words).
  const std::vector<std::string> short_hyps{"one two three", "a b c d e f g"};
  const std::vector<std::vector<std::string>> three{{"one two three four five six", "a b c"},
                                                    {"one two", "a b c d e f g h i j"},
                                                    {"one two three four", "a b c d e f"}};
  CHECK(corpus_bleu(short_hyps, three) == Approx(100.0).margin(1e-9));
  CHECK(corpus_chrf(short_hyps, three) == Approx(83.4542337114218).margin(1e-9));
  // One set: the same as the one-reference overload.
  const std::vector<std::string> pair{"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."};
  const std::vector<std::string> ref{"The dog bit the man.", "It was not unexpected.", "The man bit him first."};
  CHECK(corpus_bleu(pair, ref) == Approx(45.06750632106114).margin(1e-9));
  CHECK(corpus_chrf(pair, ref) == Approx(50.043063606582294).margin(1e-9));
  CHECK_THROWS_WITH(corpus_bleu(hyps, std::vector<std::vector<std::string>>{two[0], {"x"}}),
                    "BLEU: 4 hypotheses but reference set 2 has 1 lines");
}
