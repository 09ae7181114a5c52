// Corpus readers (every bad-input case with its message), encoding, statistics.
#include <cstdio>
#include <fstream>

#include "datasets/corpus.hpp"
#include "helpers.hpp"

using namespace xseq;

namespace {
// A file in the working directory, removed at the end of the test.
struct TempFile {
  std::string path;
  TempFile(const std::string& name, const std::string& content) : path(name) {
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
};
}  // namespace

TEST_CASE("read_tsv: pairs, line numbers, CRLF, multi-byte text", "[data]") {
  TempFile f("test_ok.tsv", "a b\tx y\r\nñ 中\t😀\n\nc\td\n");
  CHECK_THROWS_WITH(read_tsv(f.path), "test_ok.tsv:3: no tab (expected 'source<TAB>target')");
  TempFile g("test_ok2.tsv", "a b\tx y\r\nñ 中\t😀\nc\td");
  const ParallelText t = read_tsv(g.path);
  REQUIRE(t.size() == 3);
  CHECK(t.source(0) == "a b");
  CHECK(t.target(0) == "x y");  // '\r' dropped
  CHECK(t.source(1) == "ñ 中");
  CHECK(t.target(1) == "😀");
  CHECK(t.target(2) == "d");    // no final newline
  CHECK(t.line(2) == 3);
}

TEST_CASE("readers: every bad input is an error naming the file and line", "[data]") {
  CHECK_THROWS_WITH(read_tsv("no/such/file.tsv"), Catch::StartsWith("cannot open 'no/such/file.tsv' (missing or unreadable) (resolved: /") &&
                                                     Catch::EndsWith("/no/such/file.tsv)"));
  TempFile empty("test_empty.tsv", "");
  CHECK_THROWS_WITH(read_tsv(empty.path), "test_empty.tsv: empty file (no sentence pairs)");
  TempFile utf("test_utf.tsv", "ok\tfine\nbad \xC3\x28 here\tx\n");
  CHECK_THROWS_WITH(read_tsv(utf.path), "test_utf.tsv:2: invalid UTF-8 at byte 5 of the line");
  TempFile notab("test_notab.tsv", "a\tb\njust one side\n");
  CHECK_THROWS_WITH(read_tsv(notab.path), "test_notab.tsv:2: no tab (expected 'source<TAB>target')");
  TempFile twotabs("test_twotabs.tsv", "a\tb\tc\n");
  CHECK_THROWS_WITH(read_tsv(twotabs.path), "test_twotabs.tsv:1: more than one tab (expected 'source<TAB>target')");
  TempFile nosrc("test_nosrc.tsv", "a\tb\n \tb\n");
  CHECK_THROWS_WITH(read_tsv(nosrc.path), "test_nosrc.tsv:2: empty source side");
  TempFile notgt("test_notgt.tsv", "a\tb\nc\td\ne\t\n");
  CHECK_THROWS_WITH(read_tsv(notgt.path), "test_notgt.tsv:3: empty target side");

  TempFile src("test.src", "a\nb\nc\n"), tgt("test.tgt", "x\ny\n"), tgt3("test3.tgt", "x\n\nz\n");
  CHECK_THROWS_WITH(read_parallel(src.path, tgt.path),
                    "'test.src' and 'test.tgt' differ in length: test.tgt ends after 2 lines while test.src goes on (line 3)");
  CHECK_THROWS_WITH(read_parallel(tgt.path, src.path),
                    "'test.tgt' and 'test.src' differ in length: test.tgt ends after 2 lines while test.src goes on (line 3)");
  CHECK_THROWS_WITH(read_parallel(src.path, tgt3.path), "test3.tgt:2: empty target side");
  CHECK_THROWS_WITH(read_parallel(src.path, "missing.tgt"),
                    Catch::StartsWith("cannot open 'missing.tgt' (missing or unreadable) (resolved: /"));
  TempFile e1("test_e.src", ""), e2("test_e.tgt", "");
  CHECK_THROWS_WITH(read_parallel(e1.path, e2.path), "test_e.src: empty file (no sentence pairs)");

  TempFile good_tgt("test_good.tgt", "x\ny\nz\n");
  const ParallelText pair = read_corpus(src.path + "," + good_tgt.path);
  CHECK(pair.size() == 3);
  CHECK(pair.target(2) == "z");
  CHECK(pair.origin() == "test.src + test_good.tgt");
}

TEST_CASE("encode_corpus: ids, <unk> counts, over-long pairs dropped or rejected", "[data]") {
  TempFile f("test_enc.tsv", "a b\tx\na b c d e\tx y\nb\tq\n");
  const ParallelText text = read_tsv(f.path);
  const auto space = make_tokenizer("space");
  VocabBuilder sb, tb;
  count_tokens(text, *space, Side::source, sb);
  count_tokens(text, *space, Side::target, tb);
  const Vocab sv = sb.build(), tv = tb.build(2);  // only "x" appears twice on the target side
  EncodeOptions o;
  o.max_len = 3;
  EncodeReport r;
  const TokenizedCorpus c = encode_corpus(text, *space, *space, sv, tv, o, &r);
  REQUIRE(c.size() == 2);
  CHECK(r.pairs_read == 3);
  CHECK(r.dropped_too_long == 1);
  CHECK(r.target_unknown == 1);  // "q"
  CHECK(c.origin_index(1) == 2);
  CHECK(c.source_length(0) == 2);
  CHECK(c.source().at(0, 1) == sv.id("b"));
  CHECK(c.target().at(1, 0) == Vocab::kUnk);
  CHECK(r.summary("test_enc.tsv") ==
        "test_enc.tsv: kept 2 of 3 pairs; dropped 1 with a side longer than max_len; 0 source and 1 target tokens "
        "unknown (mapped to <unk>)");
  o.over_long = OverLong::reject;
  CHECK_THROWS_WITH(encode_corpus(text, *space, *space, sv, tv, o, nullptr),
                    "test_enc.tsv:2: the source side has 5 tokens, more than max_len 3 (or set over-long pairs to be dropped)");
  o.max_len = 0;
  CHECK(encode_corpus(text, *space, *space, sv, tv, o, nullptr).size() == 3);
}

TEST_CASE("IdStore: 16-bit ids until one does not fit, then 32-bit, same values", "[data]") {
  IdStore ids;
  ids.append({1, 65535, 7});
  ids.append({4});
  CHECK(ids.at(0, 1) == 65535);
  ids.append({70000, 2});
  CHECK(ids.sentences() == 3);
  CHECK(ids.tokens() == 6);
  CHECK(ids.at(0, 1) == 65535);
  CHECK(ids.at(2, 0) == 70000);
  std::vector<std::int32_t> out(3);
  ids.copy(0, out.data());
  CHECK(out == std::vector<std::int32_t>{1, 65535, 7});
  CHECK_THROWS_WITH(ids.append({-1}), Catch::Contains("negative token id -1"));
}

TEST_CASE("corpus statistics: counts, percentiles, validation coverage", "[data]") {
  TempFile train("test_st.tsv", "ab\tx\nabcd\txy\nabcdef\txyz\nabcdefgh\txyzw\n");
  TempFile valid("test_sv.tsv", "az\tx\n");
  const ParallelText t = read_tsv(train.path), v = read_tsv(valid.path);
  const auto chars = make_tokenizer("char");
  const CorpusStats st = corpus_stats(t, *chars, &v);
  CHECK(st.pairs == 4);
  CHECK(st.source.tokens == 20);
  CHECK(st.source.distinct == 8);
  CHECK(st.source.max == 8);
  CHECK(st.source.p50 == 6);  // lengths 2 4 6 8: nearest rank at 0.5 * 3 = 1.5 -> index 2
  CHECK(st.target.mean == Approx(2.5));
  CHECK(st.valid_source_coverage == Approx(0.5));  // "z" never seen
  CHECK(st.valid_target_coverage == Approx(1.0));
  CHECK(st.to_text().find("validation tokens seen in training: source 50.00%, target 100.00%") != std::string::npos);
  const std::string json = corpus_stats_json(st, 0.25, 0.5);
  CHECK(json.rfind("{\"pairs\":4,\"source\":{\"tokens\":20,\"types\":8,\"mean\":5.0,", 0) == 0);
  CHECK(json.find("\"valid_target_coverage\":1.0,\"padding_bucketed\":0.25,\"padding_unbucketed\":0.5}") !=
        std::string::npos);
}
