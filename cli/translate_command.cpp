// xseq translate: source lines from stdin or a file, one translation per line,
// decoded in batches as soon as no more input is waiting.
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "cli/command.hpp"
#include "datasets/utf8.hpp"
#include "decode/translator.hpp"
#include "eval/attention_svg.hpp"
#include "framework/distributed_gather.hpp"

namespace xseq::cli {
namespace {

struct TranslateFlags {
  std::string input, alignments, svg_dir;
  bool heads = false;
  DecodeFlags decode;
  int threads = -1;
};

// The cross-attention of one sentence (the Translator crops it to the source
// tokens) as a JSON line and/or SVG heatmaps.
class AttentionWriter {
 public:
  AttentionWriter(const std::string& alignments, const std::string& svg_dir, bool heads)
      : svg_dir_(svg_dir), heads_(heads) {
    if (!alignments.empty()) {
      json_.open(alignments);
      XSEQ_CHECK(json_.is_open(), "xseq translate: cannot write --alignments '", alignments, "'");
    }
    if (!svg_dir_.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(svg_dir_, ec);
      XSEQ_CHECK(!ec, "xseq translate: cannot create --attention-svg directory '", svg_dir_, "': ", ec.message());
    }
  }
  bool wanted() const { return json_.is_open() || !svg_dir_.empty(); }

  void write(std::int64_t number, const Translation& t) {
    std::vector<std::string> output = t.tokens;
    if (t.ended && !t.source_tokens.empty()) output.push_back("</s>");
    const std::string title = "sentence " + std::to_string(number);
    if (json_.is_open()) json_ << attention_json(t.source_tokens, output, t.attention) << "\n" << std::flush;
    if (svg_dir_.empty()) return;
    write_file(number, "", attention_svg(t.source_tokens, output, t.attention, title));
    if (!heads_ || t.head_attention.empty() || t.head_attention[0].empty()) return;
    // [token][head][source] -> [head][token][source]
    std::vector<std::vector<std::vector<float>>> per_head(t.head_attention[0].size());
    for (const auto& per_token : t.head_attention)
      for (std::size_t k = 0; k < per_token.size(); ++k) per_head[k].push_back(per_token[k]);
    write_file(number, "-heads", attention_heads_svg(t.source_tokens, output, per_head, title));
  }

 private:
  void write_file(std::int64_t number, const char* suffix, const std::string& svg) {
    char name[48];
    std::snprintf(name, sizeof name, "/sentence-%06lld%s.svg", static_cast<long long>(number), suffix);
    std::ofstream out(svg_dir_ + name);
    out << svg;
    XSEQ_CHECK(out.good(), "xseq translate: cannot write '", svg_dir_ + name, "'");
  }

  std::ofstream json_;
  std::string svg_dir_;
  bool heads_;
};

// Lines waiting to be translated, and what printing them needs: a shell over
// xseq::Translator (decode/translator.hpp).
class LineTranslator {
 public:
  /// n_best: print n-best lists (index, hypothesis, normalized score, log-probability).
  LineTranslator(const Translator& translator, bool n_best, AttentionWriter& attention)
      : translator_(translator), n_best_(n_best), attention_(attention) {}

  void add(const std::string& line) { pending_.push_back(line); }
  std::size_t pending() const { return pending_.size(); }

  /// Decodes and prints every pending line, in order.
  void flush() {
    const std::string text = translate_pending();
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }

  /// Decodes every pending line and returns what flush() prints. Line i of the
  /// input samples from the stream of (--seed, i).
  std::string translate_pending() {
    std::string out;
    if (pending_.empty()) return out;
    SearchOptions search = translator_.options();
    search.attention = attention_.wanted();
    const std::vector<Translation> results = translator_.translate(pending_, search, sentences_);
    for (const Translation& t : results) {
      if (n_best_)
        print_nbest(out, t);
      else
        out += t.text + "\n";
      ++sentences_;
      unknown_ += t.unknown;
      truncated_ += t.truncated;
      if (attention_.wanted()) attention_.write(sentences_, t);
    }
    pending_.clear();
    return out;
  }

  /// The next line added is input line `sentence` (0-based; a rank's share under mpirun).
  void start_at(std::int64_t sentence) { sentences_ = sentence; }
  std::int64_t unknown() const { return unknown_; }
  std::int64_t truncated() const { return truncated_; }

  /// What the user should know at the end (unknown tokens, truncated lines).
  void summary() const { print_summary(unknown_, truncated_, translator_.max_input()); }
  static void print_summary(std::int64_t unknown, std::int64_t truncated, std::int64_t max_input) {
    if (unknown > 0)
      std::fprintf(stderr, "%lld source tokens were unknown to the vocabulary (mapped to <unk>)\n",
                   static_cast<long long>(unknown));
    if (truncated > 0)
      std::fprintf(stderr, "%lld lines were longer than --max-input %lld tokens and were truncated\n",
                   static_cast<long long>(truncated), static_cast<long long>(max_input));
  }

 private:
  // index<TAB>hypothesis<TAB>normalized score<TAB>log-probability per entry; an
  // empty input line gets one empty entry scored 0.
  void print_nbest(std::string& out, const Translation& t) const {
    const std::string index = std::to_string(sentences_);
    if (t.source_tokens.empty()) {
      out += index + "\t\t0\t0\n";
      return;
    }
    for (const Translation& h : t.hypotheses) {
      char scores[96];
      std::snprintf(scores, sizeof scores, "\t%.6f\t%.6f\n", h.normalized_score, h.score);
      out += index + "\t" + h.text + scores;
    }
  }

  const Translator& translator_;
  bool n_best_;
  AttentionWriter& attention_;
  std::vector<std::string> pending_;
  std::int64_t sentences_ = 0, unknown_ = 0, truncated_ = 0;
};

// Is another line already waiting on stdin? (Then it joins the batch.)
bool more_waiting(std::istream& in, bool from_file) {
  if (from_file || in.rdbuf()->in_avail() > 0) return true;
  pollfd fd{STDIN_FILENO, POLLIN, 0};
  return ::poll(&fd, 1, 0) > 0;
}

int translate_one_process(const TranslateFlags& f) {
  const Translator model(f.decode.checkpoints, translator_options(f.decode, f.threads));
  AttentionWriter attention(f.alignments, f.svg_dir, f.heads);
  LineTranslator translator(model, f.decode.n_best > 0, attention);
  std::ifstream file;
  const bool from_file = !f.input.empty();
  if (from_file) {
    file.open(f.input, std::ios::binary);
    XSEQ_CHECK(file.is_open(), "xseq translate: cannot open --input '", f.input, "'");
  }
  std::istream& in = from_file ? static_cast<std::istream&>(file) : std::cin;
  const std::string origin = from_file ? f.input : std::string("<stdin>");
  std::string line;
  for (std::int64_t line_number = 1; std::getline(in, line); ++line_number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    try {
      check_text_line(line, origin, line_number);
    } catch (const Error&) {
      translator.flush();  // every line before the bad one is printed first
      throw;
    }
    translator.add(line);
    if (static_cast<std::int64_t>(translator.pending()) >= f.decode.batch || !more_waiting(in, from_file))
      translator.flush();
  }
  XSEQ_CHECK(!in.bad(), "xseq translate: reading ", origin, " failed");
  translator.flush();
  translator.summary();
  return 0;
}

// Rank 0's input lines up to the first bad one, whose error goes to *error
// (mpirun forwards stdin to rank 0 only).
std::vector<std::string> read_all_lines(const TranslateFlags& f, std::string* error) {
  std::ifstream file;
  if (!f.input.empty()) {
    file.open(f.input, std::ios::binary);
    XSEQ_CHECK(file.is_open(), "xseq translate: cannot open --input '", f.input, "'");
  }
  std::istream& in = f.input.empty() ? std::cin : static_cast<std::istream&>(file);
  const std::string origin = f.input.empty() ? std::string("<stdin>") : f.input;
  std::vector<std::string> lines;
  std::string line;
  for (std::int64_t line_number = 1; std::getline(in, line); ++line_number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    try {
      check_text_line(line, origin, line_number);
    } catch (const Error& e) {
      *error = e.what();  // every line before the bad one is still translated and printed
      return lines;
    }
    lines.push_back(line);
  }
  XSEQ_CHECK(!in.bad(), "xseq translate: reading ", origin, " failed");
  return lines;
}

// Under mpirun: rank 0 reads the whole input and sends it to every rank; the lines
// are cut into batches of --batch as one process reading a file cuts them, rank r
// translates a contiguous share of the batches, and rank 0 prints every rank's
// output in input order (docs/distributed.md, "Eval and translate"). A bad input
// line's error goes to *input_error, after every line before it was printed.
int translate_sharded(const TranslateFlags& f, Communicator& comm, std::string* input_error) {
  XSEQ_CHECK(f.alignments.empty() && f.svg_dir.empty(), "xseq translate: --alignments and --attention-svg are not "
             "supported under mpirun (", comm.size(), " ranks): run them in one process");
  const Translator model(f.decode.checkpoints, translator_options(f.decode, f.threads));
  Packer input;
  if (comm.rank() == 0) {
    std::string error;
    const std::vector<std::string> lines = read_all_lines(f, &error);
    input.put(error);
    input.put(static_cast<std::int64_t>(lines.size()));
    for (const auto& line : lines) input.put(line);
  }
  const std::string all_input = comm.gather_all(input.bytes())[0];
  Unpacker u(all_input);
  const std::string error = u.text();
  const std::int64_t n = u.integer(), batch = f.decode.batch;
  const auto [first, last] = contiguous_share((n + batch - 1) / batch, comm);
  AttentionWriter none("", "", false);
  LineTranslator translator(model, f.decode.n_best > 0, none);
  translator.start_at(first * batch);
  std::string mine;
  for (std::int64_t i = 0; i < std::min(n, last * batch); ++i) {
    const std::string line = u.text();
    if (i < first * batch) continue;
    translator.add(line);
    if (static_cast<std::int64_t>(translator.pending()) >= batch) mine += translator.translate_pending();
  }
  mine += translator.translate_pending();
  double counts[2] = {double(translator.unknown()), double(translator.truncated())};
  comm.sum(counts, 2);
  const std::vector<std::string> outputs = comm.gather_all(mine);
  if (comm.rank() != 0) return 0;  // rank 0 alone prints, and reports a bad line
  for (const auto& text : outputs) std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  *input_error = error;
  if (!error.empty()) return 1;
  LineTranslator::print_summary(std::int64_t(counts[0]), std::int64_t(counts[1]), model.max_input());
  return 0;
}

int translate(const TranslateFlags& f) {
  Communicator& comm = process_communicator();
  if (comm.size() == 1) return translate_one_process(f);
  std::string input_error;  // as one process: the error after the lines before it
  const int code = run_on_every_rank(comm, [&] { return translate_sharded(f, comm, &input_error); });
  if (!input_error.empty()) throw Error(input_error);
  return code;
}

}  // namespace

Command add_translate_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("translate", "translate lines from stdin or a file with a checkpoint");
  cmd->footer(
      "Reads source sentences (one per line) from stdin or --input and writes one translation\n"
      "per line to stdout, in input order. Lines are decoded in batches of up to --batch as soon\n"
      "as no more input is waiting, so interactive use answers line by line. A line that is not\n"
      "valid UTF-8 or holds a control character (NUL, ESC, ...; TAB is fine) is an error naming\n"
      "the line, after every line before it was printed.\n"
      "--alignments FILE writes each sentence's attention matrix (output tokens x source\n"
      "tokens) as a JSON line; --attention-svg DIR writes one SVG heatmap per sentence\n"
      "(Transformers: the last decoder layer's cross-attention averaged over heads;\n"
      "--attention-heads adds a grid with one heatmap per head).\n"
      "--n-best N prints the N best hypotheses of beam search per sentence, best first, one per\n"
      "line: index<TAB>hypothesis<TAB>normalized_score<TAB>log_prob, index = the 0-based input\n"
      "line, normalized_score = log_prob / ((5 + length) / 6)^alpha (length incl. </s>).\n"
      "--sample draws each token (--temperature, --top-k, --top-p); line i draws from the stream\n"
      "of (--seed, i), so the output does not depend on --batch or --threads.\n"
      "--checkpoint a.h5 --checkpoint b.h5 decodes with an ensemble: the mean of the models'\n"
      "log-probabilities at every step (the checkpoints must share tokenizer and vocabularies).");
  auto f = std::make_shared<TranslateFlags>();
  add_decode_flags(*cmd, f->decode, 32, true);
  cmd->add_option("--input", f->input, "read sources from this file instead of stdin")->check(CLI::ExistingFile);
  cmd->add_option("--alignments", f->alignments, "write attention matrices as JSON lines to FILE");
  cmd->add_option("--attention-svg", f->svg_dir, "write one SVG heatmap per sentence into DIR");
  cmd->add_flag("--attention-heads", f->heads, "with --attention-svg: also a heatmap per head");
  add_threads_flag(*cmd, f->threads, "the checkpoint's train.threads");
  return {cmd, [f] { return translate(*f); }};
}

}  // namespace xseq::cli
