// UTF-8, vocabularies and tokenizers.
#include <cstdio>

#include "datasets/tokenizer.hpp"
#include "datasets/utf8.hpp"
#include "datasets/vocab.hpp"
#include "helpers.hpp"

using namespace xseq;

namespace {
// Multi-byte text: 2-byte (é, ж), 3-byte (中, €) and 4-byte (😀) code points.
const std::string kText = "héllo wörld, жук 中文 €5 😀!";
std::size_t chars_in(const std::string& s) { return split_code_points(s).size(); }
}  // namespace

TEST_CASE("UTF-8: validation finds the first bad byte, code points split whole", "[data]") {
  CHECK(find_invalid_utf8(kText) == std::string::npos);
  CHECK(find_invalid_utf8("ab\xC3") == 2);          // truncated 2-byte sequence
  CHECK(find_invalid_utf8("a\xC0\xAF") == 1);       // overlong '/'
  CHECK(find_invalid_utf8("\xED\xA0\x80") == 0);    // a surrogate
  CHECK(find_invalid_utf8("ok\xF4\x90\x80\x80") == 2);  // past U+10FFFF
  CHECK(find_invalid_utf8("x\xFF") == 1);
  const auto cps = split_code_points("a中😀");
  REQUIRE(cps.size() == 3);
  CHECK(cps[1] == "中");
  CHECK(cps[2] == "😀");
}

TEST_CASE("Vocab: fixed special ids, min_freq, max_size, deterministic order, save/load", "[data]") {
  VocabBuilder b;
  b.add(std::vector<std::string>{"b", "a", "c", "a", "b", "a", "d", "<s>"});
  const Vocab v = b.build();
  CHECK(v.id("<pad>") == Vocab::kPad);
  CHECK(v.id("<unk>") == Vocab::kUnk);
  CHECK(v.id("<s>") == Vocab::kBos);
  CHECK(v.id("</s>") == Vocab::kEos);
  CHECK(v.tokens() == std::vector<std::string>{"<pad>", "<unk>", "<s>", "</s>", "a", "b", "c", "d"});
  CHECK(v.id("zzz") == Vocab::kUnk);
  CHECK(b.build(2).size() == 6);      // a (3), b (2)
  CHECK(b.build(1, 5).tokens().back() == "a");
  CHECK_THROWS_WITH(b.build(1, 4), Catch::Contains("max_size 4 leaves no room"));

  const Vocab with_space(std::vector<std::string>{" ", "中", "x y"});
  const std::string path = "test_vocab.txt";
  with_space.save(path);
  const Vocab back = Vocab::load(path);
  CHECK(back.tokens() == with_space.tokens());
  CHECK(back.id("x y") == 6);
  std::remove(path.c_str());
  CHECK_THROWS_WITH(Vocab::deserialize("tokens\na\n", "v.txt"), Catch::Contains("v.txt:1: not an xseq vocabulary"));
  CHECK_THROWS_WITH(Vocab(std::vector<std::string>{"a", "a"}), Catch::Contains("token 'a' appears twice"));
  CHECK_THROWS_WITH(Vocab(std::vector<std::string>{"</s>"}), Catch::Contains("special token"));
  CHECK_THROWS_WITH(Vocab::load("no/such/vocab.txt"), Catch::Contains("cannot open 'no/such/vocab.txt'"));
  CHECK_THROWS_WITH(v.token(99), Catch::Contains("id 99 is outside [0, 8)"));
}

TEST_CASE("tokenizers: char and space round-trip exactly on multi-byte text", "[data]") {
  const auto chars = make_tokenizer("char");
  const auto tokens = chars->encode(kText);
  CHECK(tokens.size() == 25);
  CHECK(tokens[1] == "é");
  CHECK(tokens[5] == " ");  // spaces are tokens
  CHECK(chars->decode(tokens) == kText);

  const auto space = make_tokenizer("space");
  const auto words = space->encode("  der  Bär\tißt 中文 😀 ");
  CHECK(words == std::vector<std::string>{"der", "Bär", "ißt", "中文", "😀"});
  CHECK(space->decode(space->encode(kText)) == kText);  // single spaces: exact
  CHECK_THROWS_WITH(make_tokenizer("bpe"), Catch::Contains("unknown tokenizer 'bpe'"));
  CHECK_THROWS_WITH(make_tokenizer("sentencepiece"), Catch::Contains("needs a model"));
}

TEST_CASE("tokenizers: sentencepiece (unigram and BPE) trains, saves, loads and round-trips exactly", "[data]") {
  std::vector<std::string> sentences;
  const char* words[] = {"über", "straße", "中文", "hello", "world", "attention", "model", "жук", "naïve", "café"};
  Rng rng(3);
  for (int i = 0; i < 400; ++i) {
    std::string s;
    for (int w = 0; w < 6; ++w) s += std::string(w ? " " : "") + words[rng.below(10)];
    sentences.push_back(s);
  }
  for (const char* type : {"unigram", "bpe"}) {
    DYNAMIC_SECTION(type) {
      SentencePieceOptions o;
      o.vocab_size = 350;  // byte fallback alone takes 256 pieces
      o.model_type = type;
      const auto sp = SentencePieceTokenizer::train(sentences, o);
      CHECK(sp->name() == "sentencepiece");
      // Characters never seen in training (emoji, Greek) fall back to bytes, not <unk>.
      for (const std::string& text : {kText, std::string("  two  spaces and αβγ"), sentences[7]}) {
        const auto pieces = sp->encode(text);
        CHECK(!pieces.empty());
        CHECK(sp->decode(pieces) == text);
      }
      CHECK(sp->encode(sentences[0]).size() < chars_in(sentences[0]));
      const std::string path = std::string("test_sp_") + type + ".model";
      sp->save(path);
      const auto loaded = SentencePieceTokenizer::load(path);
      CHECK(loaded->encode(kText) == sp->encode(kText));
      std::remove(path.c_str());
    }
  }
  CHECK_THROWS_WITH(SentencePieceTokenizer::load("no/such.model"), Catch::Contains("cannot open model file 'no/such.model'"));
  {
    std::FILE* f = std::fopen("test_bad.model", "wb");
    std::fputs("not a model", f);
    std::fclose(f);
  }
  CHECK_THROWS_WITH(SentencePieceTokenizer::load("test_bad.model"), Catch::Contains("'test_bad.model' is not a SentencePiece model"));
  std::remove("test_bad.model");
  SentencePieceOptions bad;
  bad.model_type = "word2vec";
  CHECK_THROWS_WITH(SentencePieceTokenizer::train(sentences, bad), Catch::Contains("model_type 'word2vec'"));
}
