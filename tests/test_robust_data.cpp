// Text hygiene of the data readers: every rule rejects its input with the
// file, the line and the byte column, and nothing a file holds can make a
// reader hold more than one line of kMaxLineBytes in memory.
#include <cstdio>
#include <fstream>

#include "datasets/corpus.hpp"
#include "datasets/tokenizer.hpp"
#include "datasets/utf8.hpp"
#include "datasets/vocab.hpp"
#include "helpers.hpp"

using namespace xseq;
using Catch::Contains;

namespace {
// A file in the working directory, removed at the end of the test.
struct TempFile {
  std::string path;
  TempFile(const std::string& name, const std::string& content) : path(name) {
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("robust data: a NUL byte is an error naming file, line and byte", "[robust][data]") {
  // The bug this guards: a NUL in training text reached the vocabulary, which a
  // checkpoint stores as a C string, so every checkpoint of the run was cut short.
  TempFile tsv("robust_nul.tsv", std::string("ok\tfine\nbad\0x\ty\n", 16));
  CHECK(error_of([&] { read_tsv(tsv.path); }) ==
        "robust_nul.tsv:2: a NUL byte (U+0000) at byte 4 of the line (text may hold no control characters but TAB; "
        "lines end in LF or CRLF)");
  TempFile src("robust_nul.src", "a\nb\n"), tgt("robust_nul.tgt", std::string("x\n\0\n", 4));
  CHECK_THROWS_WITH(read_parallel(src.path, tgt.path), Contains("robust_nul.tgt:2: a NUL byte (U+0000) at byte 1"));
  CHECK_THROWS_WITH(Vocab(std::vector<std::string>{"a", std::string("b\0c", 3)}), Contains("token 5 contains a NUL"));
  CHECK_THROWS_WITH(Vocab::deserialize(std::string("#xseq-vocab 1\na\nb\0\n", 19), "v.txt"),
                    "v.txt:3: a NUL byte (U+0000) at byte 2 of the line");
}

TEST_CASE("robust data: control characters other than TAB are errors, TAB and CRLF are not", "[robust][data]") {
  TempFile esc("robust_esc.tsv", "a\tb\nc\td\nred \x1b[31m\tx\n");
  CHECK_THROWS_WITH(read_tsv(esc.path), Contains("robust_esc.tsv:3: control character U+001B at byte 5 of the line"));
  TempFile cr("robust_cr.tsv", "a\rb\tc\r\n");
  CHECK_THROWS_WITH(read_tsv(cr.path),
                    Contains("robust_cr.tsv:1: a carriage return (U+000D) at byte 2 of the line"));
  TempFile ff("robust_ff.src", "one\ntwo\f\n"), ok_tgt("robust_ok.tgt", "x\ny\n");
  CHECK_THROWS_WITH(read_parallel(ff.path, ok_tgt.path), Contains("robust_ff.src:2: control character U+000C at byte 4"));
  // Every C0 character but TAB and the line feed itself is rejected.
  for (int c = 1; c < 0x20; ++c) {
    if (c == '\t' || c == '\n') continue;
    INFO("byte " << c);
    CHECK(find_control_character(std::string("ab") + char(c)) == 2);
  }
  CHECK(find_control_character("tab\tinside, DEL \x7f and U+0085 \xc2\x85 are not C0") == std::string::npos);

  // TAB inside a side of two-file corpora is text; CRLF endings are dropped.
  TempFile tabs("robust_tabs.src", "a\tb\r\nc\r\n"), tgt("robust_tabs.tgt", "x\r\ny\n");
  const ParallelText t = read_parallel(tabs.path, tgt.path);
  REQUIRE(t.size() == 2);
  CHECK(t.source(0) == "a\tb");
  CHECK(t.target(0) == "x");
  CHECK(t.source(1) == "c");
}

TEST_CASE("robust data: invalid UTF-8 names file, line and byte", "[robust][data]") {
  TempFile utf("robust_utf.tsv", "ok\tfine\nok\tfine\n\xff\tx\n");
  CHECK_THROWS_WITH(read_tsv(utf.path), "robust_utf.tsv:3: invalid UTF-8 at byte 1 of the line");
  CHECK_THROWS_WITH(Vocab::deserialize("#xseq-vocab 1\na\n\xc3\x28\n", "v.txt"),
                    "v.txt:3: invalid UTF-8 at byte 1 of the line");
  CHECK_THROWS_WITH(check_text_line("abc\xed\xa0\x80", "f.txt", 7), "f.txt:7: invalid UTF-8 at byte 4 of the line");
}

TEST_CASE("robust data: lines longer than kMaxLineBytes are errors naming the line", "[robust][data]") {
  REQUIRE(kMaxLineBytes == 1048576);
  const std::string longest(kMaxLineBytes - 2, 'a');
  // Exactly the limit (a CRLF's '\r' does not count) is read whole.
  TempFile ok("robust_longest.tsv", "a\tb\n" + longest + "\tb\r\nc\td\n");
  const ParallelText t = read_tsv(ok.path);
  REQUIRE(t.size() == 3);
  CHECK(t.source(1).size() == longest.size());
  CHECK(t.line(2) == 3);

  TempFile over("robust_long.tsv", "a\tb\nc\td\n" + longest + "a\tb\n");
  CHECK(error_of([&] { read_tsv(over.path); }) ==
        "robust_long.tsv:3: line longer than 1048576 bytes (1 MiB, the longest line xseq reads; is this a text "
        "file with one sentence per line?)");
  // A file without any newline stops at the limit instead of reading 3 MiB into one line.
  TempFile flat("robust_flat.src", std::string(3 * kMaxLineBytes, 'x')), tgt("robust_flat.tgt", "y\n");
  CHECK_THROWS_WITH(read_parallel(flat.path, tgt.path), Contains("robust_flat.src:1: line longer than 1048576 bytes"));
}

TEST_CASE("robust data: a byte order mark starts the file without becoming text", "[robust][data]") {
  TempFile bom("robust_bom.tsv", "\xef\xbb\xbf" "a\tb\n\xef\xbb\xbf" "c\td\n");
  const ParallelText t = read_tsv(bom.path);
  REQUIRE(t.size() == 2);
  CHECK(t.source(0) == "a");
  CHECK(t.source(1) == "\xef\xbb\xbf" "c");  // U+FEFF later in a file is text, as Python's utf-8-sig reads it
  TempFile only("robust_bom_only.tsv", "\xef\xbb\xbf\n");
  CHECK_THROWS_WITH(read_tsv(only.path), "robust_bom_only.tsv:1: no tab (expected 'source<TAB>target')");
}

TEST_CASE("robust data: vocabulary files name the line of an empty, repeated or special token", "[robust][data]") {
  CHECK_THROWS_WITH(Vocab::deserialize("#xseq-vocab 1\na\n\nb\n", "v.txt"),
                    "v.txt:3: empty line (a vocabulary holds one token per line)");
  CHECK_THROWS_WITH(Vocab::deserialize("#xseq-vocab 1\na\nb\na\n", "v.txt"),
                    "v.txt:4: token 'a' appears twice (first on line 2)");
  CHECK_THROWS_WITH(Vocab::deserialize("#xseq-vocab 1\na\n<unk>\n", "v.txt"),
                    "v.txt:3: '<unk>' is a special token (the specials take ids 0-3 and are not listed)");
  // Tokens with TAB or spaces round-trip.
  const Vocab v(std::vector<std::string>{"\t", " x ", "中"});
  CHECK(Vocab::deserialize(v.serialize()).tokens() == v.tokens());
}

TEST_CASE("robust data: a directory or unreadable path is an error, not an empty corpus", "[robust][data]") {
  CHECK_THROWS_WITH(read_tsv("."), Contains("'.'"));
  CHECK_THROWS_WITH(Vocab::load("."), Contains("'.'"));
}

TEST_CASE("robust data: a SentencePiece model the library throws on is an error naming the file", "[robust][data]") {
  // Found by fuzz_sentencepiece: a piece starting with a NUL byte made libsentencepiece
  // throw its own exception (Darts' "zero-length key") through SentencePieceTokenizer::load.
  const std::string path = std::string(XSEQ_SOURCE_DIR) + "/fuzz/corpus/sentencepiece/regress-nul-in-piece.model";
  CHECK_THROWS_WITH(SentencePieceTokenizer::load(path),
                    Contains("regress-nul-in-piece.model' is not a SentencePiece model") && Contains("zero-length key"));
}
