#include "train/eval_commands.hpp"

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "datasets/utf8.hpp"
#include "framework/parallel.hpp"
#include "train/attention_svg.hpp"
#include "train/cli_args.hpp"
#include "train/evaluation.hpp"
#include "train/report.hpp"

namespace xseq::cli {
namespace {

const char* kTranslateUsage =
    "usage: xseq translate --checkpoint CKPT [--input FILE] [--beam N] [--alpha A] [--batch N]\n"
    "                      [--alignments FILE] [--attention-svg DIR [--attention-heads]]\n"
    "\n"
    "Reads source sentences (one per line) from stdin or --input and writes one\n"
    "translation per line to stdout, in input order. Lines are decoded in batches of up\n"
    "to --batch (32) as soon as no more input is waiting, so interactive use answers\n"
    "line by line. --beam 1 (default) is greedy search; --alpha is the length penalty.\n"
    "--alignments FILE writes each sentence's attention matrix (output tokens x source\n"
    "tokens) as a JSON line; --attention-svg DIR writes one SVG heatmap per sentence\n"
    "(for Transformers: the last decoder layer's cross-attention, averaged over heads;\n"
    "--attention-heads adds a grid with one heatmap per head).\n";
const char* kEvalUsage =
    "usage: xseq eval --checkpoint CKPT --data TEST.tsv [--beam N] [--alpha A] [--batch N]\n"
    "                 [--json OUT.json] [--hyps OUT.txt]\n"
    "\n"
    "Prints (and with --json writes) loss, perplexity, token_accuracy (teacher forced),\n"
    "exact_match, token_error_rate, bleu and chrf (as sacreBLEU computes them),\n"
    "sentences, sentences_per_s and tokens_per_s.\n"
    "--data also takes two line-aligned files joined by a comma (test.src,test.tgt).\n";


TrainedModel load_model(const std::string& path) {
  TrainedModel t = load_trained_model(path);
  set_num_threads(static_cast<int>(t.config.train.threads));
  return t;
}

DecodeOptions decode_options(const Args& args) {
  DecodeOptions o;
  o.beam = args.get_int("beam", 1);
  XSEQ_CHECK(o.beam >= 1, "--beam must be >= 1, got ", o.beam);
  if (args.options.count("alpha")) o.alpha = std::stod(args.options.at("alpha"));
  return o;
}

}  // namespace

int run_translate_command(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    std::fputs(kTranslateUsage, stdout);
    return 0;
  }
  const Args args = Args::parse(argc, argv, 2,
                                {"checkpoint", "input", "beam", "alpha", "batch", "alignments", "attention-svg"},
                                "translate", {"attention-heads"});
  XSEQ_CHECK(args.options.count("checkpoint"), "xseq translate: --checkpoint CKPT is required");
  TrainedModel l = load_model(args.options.at("checkpoint"));
  DecodeOptions options = decode_options(args);
  const std::int64_t batch_size = args.get_int("batch", 32);
  std::ofstream alignments;
  if (args.options.count("alignments")) {
    alignments.open(args.options.at("alignments"));
    XSEQ_CHECK(alignments.is_open(), "xseq translate: cannot write '", args.options.at("alignments"), "'");
  }
  const std::string svg_dir = args.options.count("attention-svg") ? args.options.at("attention-svg") : "";
  if (!svg_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(svg_dir, ec);
    XSEQ_CHECK(!ec, "xseq translate: cannot create directory '", svg_dir, "': ", ec.message());
  }
  options.keep_attention = alignments.is_open() || !svg_dir.empty();
  options.keep_head_attention = !svg_dir.empty() && args.has_flag("attention-heads");
  std::int64_t sentence_number = 0;
  std::ifstream file;
  const bool from_file = args.options.count("input") > 0;
  if (from_file) {
    file.open(args.options.at("input"), std::ios::binary);
    XSEQ_CHECK(file.is_open(), "xseq translate: cannot open '", args.options.at("input"), "'");
  }
  std::istream& in = from_file ? static_cast<std::istream&>(file) : std::cin;
  const std::string origin = from_file ? args.options.at("input") : std::string("<stdin>");

  std::vector<std::string> pending;
  std::int64_t line_number = 0, unknown = 0;
  auto flush = [&] {
    if (pending.empty()) return;
    TokenizedCorpus corpus;
    std::vector<bool> empty_line;
    for (const auto& line : pending) {
      std::vector<std::int32_t> ids;
      for (const auto& token : l.pipeline.tokenizer->encode(line)) {
        ids.push_back(l.pipeline.source_vocab.id(token));
        unknown += ids.back() == Vocab::kUnk;
      }
      empty_line.push_back(ids.empty());
      if (ids.empty()) ids.push_back(Vocab::kUnk);  // decoded, then printed as an empty line
      corpus.add(ids, {}, static_cast<std::int64_t>(corpus.size()));
    }
    std::vector<std::int64_t> rows;
    for (std::int64_t i = 0; i < corpus.size(); ++i) rows.push_back(i);
    const Batch b = make_batch(corpus, rows);
    const auto hyps = decode(*l.model, b.source, b.source_lengths, options);
    for (std::size_t i = 0; i < hyps.size(); ++i) {
      std::printf("%s\n", empty_line[i] ? "" : l.pipeline.detokenize(hyps[i].tokens).c_str());
      ++sentence_number;
      if (!options.keep_attention) continue;
      const std::vector<std::string> source = l.pipeline.tokenizer->encode(pending[i]);
      std::vector<std::string> output;
      for (auto id : hyps[i].tokens) output.push_back(l.pipeline.target_vocab.token(id));
      if (hyps[i].ended) output.push_back("</s>");
      std::vector<std::vector<float>> rows;
      for (const auto& row : hyps[i].attention)
        rows.emplace_back(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(std::min(row.size(), source.size())));
      if (alignments.is_open()) alignments << attention_json(source, output, rows) << "\n";
      if (!svg_dir.empty()) {
        char name[32];
        std::snprintf(name, sizeof name, "/sentence-%06lld.svg", static_cast<long long>(sentence_number));
        std::ofstream(svg_dir + name) << attention_svg(source, output, rows, "sentence " + std::to_string(sentence_number));
        if (options.keep_head_attention && !hyps[i].head_attention.empty() && !hyps[i].head_attention[0].empty()) {
          // [token][head][source] -> [head][token][source], cropped to the source tokens.
          std::vector<std::vector<std::vector<float>>> heads(hyps[i].head_attention[0].size());
          for (const auto& per_token : hyps[i].head_attention)
            for (std::size_t h = 0; h < per_token.size(); ++h)
              heads[h].emplace_back(per_token[h].begin(),
                                    per_token[h].begin() + static_cast<std::ptrdiff_t>(std::min(per_token[h].size(), source.size())));
          std::snprintf(name, sizeof name, "/sentence-%06lld-heads.svg", static_cast<long long>(sentence_number));
          std::ofstream(svg_dir + name) << attention_heads_svg(source, output, heads,
                                                               "sentence " + std::to_string(sentence_number));
        }
      }
    }
    if (alignments.is_open()) alignments.flush();
    std::fflush(stdout);
    pending.clear();
  };
  // Is another line already waiting? (Then it joins the batch; otherwise decode now.)
  auto more_waiting = [&] {
    if (from_file || in.rdbuf()->in_avail() > 0) return true;
    pollfd fd{STDIN_FILENO, POLLIN, 0};
    return ::poll(&fd, 1, 0) > 0;
  };
  std::string line;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t bad = find_invalid_utf8(line);
    XSEQ_CHECK(bad == std::string::npos, origin, ":", line_number, ": invalid UTF-8 at byte ", bad + 1, " of the line");
    pending.push_back(line);
    if (static_cast<std::int64_t>(pending.size()) >= batch_size || !more_waiting()) flush();
  }
  flush();
  if (unknown > 0) std::fprintf(stderr, "%lld source tokens were unknown to the vocabulary (mapped to <unk>)\n",
                                static_cast<long long>(unknown));
  return 0;
}

int run_eval_command(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    std::fputs(kEvalUsage, stdout);
    return 0;
  }
  const Args args =
      Args::parse(argc, argv, 2, {"checkpoint", "data", "beam", "alpha", "batch", "json", "hyps"}, "eval");
  XSEQ_CHECK(args.options.count("checkpoint"), "xseq eval: --checkpoint CKPT is required");
  XSEQ_CHECK(args.options.count("data"), "xseq eval: --data TEST.tsv is required");
  TrainedModel l = load_model(args.options.at("checkpoint"));
  const ParallelText text = read_corpus(args.options.at("data"));
  DataConfig no_limit = l.config.data;
  no_limit.max_len = 0;  // evaluate every sentence
  const TokenizedCorpus corpus = encode_with(l.pipeline, text, no_limit, true);
  EvalOptions o;
  o.batch_size = args.get_int("batch", 64);
  o.decode = decode_options(args);
  std::vector<std::string> hyps;
  o.hypotheses = &hyps;
  const auto metrics = evaluate(*l.model, l.pipeline, corpus, text, o);
  std::string json = "{";
  for (const auto& [k, v] : metrics) {
    std::printf("%-18s %.6g\n", k.c_str(), v);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s\"%s\": %.10g", json.size() > 1 ? ", " : "", k.c_str(), v);
    json += buf;
  }
  json += "}\n";
  if (args.options.count("json")) {
    std::ofstream out(args.options.at("json"));
    out << json;
    XSEQ_CHECK(out.good(), "xseq eval: cannot write '", args.options.at("json"), "'");
  }
  if (args.options.count("hyps")) {
    std::ofstream out(args.options.at("hyps"));
    for (const auto& h : hyps) out << h << "\n";
    XSEQ_CHECK(out.good(), "xseq eval: cannot write '", args.options.at("hyps"), "'");
  }
  return 0;
}

}  // namespace xseq::cli

namespace xseq {

void average_checkpoints(const std::vector<std::string>& paths, const std::string& out) {
  XSEQ_CHECK(paths.size() >= 2, "xseq average: give at least two checkpoints");
  TrainedModel first = cli::load_model(paths[0]);
  const auto first_file = open_checkpoint(paths[0]);
  std::vector<NamedParameter> params = first.model->named_parameters();
  std::vector<Tensor> sums;
  for (const auto& p : params) sums.push_back(p.variable.value().clone());
  for (std::size_t k = 1; k < paths.size(); ++k) {
    const std::string& path = paths[k];
    auto file = open_checkpoint(path);
    XSEQ_CHECK(file->read_string("vocab/src") == first_file->read_string("vocab/src") &&
                   file->read_string("vocab/tgt") == first_file->read_string("vocab/tgt"),
               "xseq average: '", path, "' has other vocabularies than '", paths[0], "' (another model?)");
    Rng rng(0);
    auto model = make_model(first.config.model, first.pipeline.source_vocab.size(), first.pipeline.target_vocab.size(), rng);
    try {
      load_parameters(*file, *model);
    } catch (const Error& e) {
      XSEQ_CHECK(false, "xseq average: '", path, "' does not match '", paths[0], "': ", e.what());
    }
    const auto other = model->named_parameters();
    for (std::size_t i = 0; i < params.size(); ++i) {
      float* s = sums[i].data();
      const float* v = other[i].variable.value().data();
      for (std::int64_t j = 0; j < sums[i].numel(); ++j) s[j] += v[j];
    }
  }
  const float scale = 1.0f / static_cast<float>(paths.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    float* s = sums[i].data();
    for (std::int64_t j = 0; j < sums[i].numel(); ++j) s[j] *= scale;
    first.model->set_parameter(params[i].name, sums[i]);
  }
  CheckpointExtras extras;
  first.pipeline.save(extras);
  extras.attributes["config"] = first_file->attribute("config");
  extras.attributes["step"] = first_file->attribute("step");
  std::string sources;
  for (const auto& p : paths) sources += (sources.empty() ? "" : " ") + p;
  extras.attributes["averaged_from"] = sources;
  save_checkpoint(out, *first.model, nullptr, extras);
}

}  // namespace xseq

namespace xseq::cli {

int run_report_command(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    std::fputs("usage: xseq report RUN_DIR [--out report.html] [--heatmaps N]\n\n"
               "Writes one self-contained HTML page (inline SVG, no network resources): training\n"
               "and validation curves from log.jsonl, final metrics, attention heatmaps of N (3)\n"
               "validation sentences decoded with best.h5, and the config.\n",
               stdout);
    return 0;
  }
  const Args args = Args::parse(argc, argv, 2, {"out", "heatmaps"}, "report");
  XSEQ_CHECK(args.positional.size() == 1, "xseq report: expected one RUN_DIR");
  const std::string out = args.options.count("out") ? args.options.at("out") : "";
  write_report(args.positional[0], out, args.get_int("heatmaps", 3));
  std::printf("wrote %s\n", out.empty() ? (args.positional[0] + "/report.html").c_str() : out.c_str());
  return 0;
}

int run_average_command(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    std::fputs("usage: xseq average --out AVG.h5 CKPT CKPT...\n\n"
               "Averages the parameters of several checkpoints of one model (same config and\n"
               "vocabularies), e.g. the last few of a run; the result loads like any checkpoint.\n",
               stdout);
    return 0;
  }
  const Args args = Args::parse(argc, argv, 2, {"out"}, "average");
  XSEQ_CHECK(args.options.count("out"), "xseq average: --out AVG.h5 is required");
  average_checkpoints(args.positional, args.options.at("out"));
  std::printf("averaged %zu checkpoints into %s\n", args.positional.size(), args.options.at("out").c_str());
  return 0;
}

}  // namespace xseq::cli
