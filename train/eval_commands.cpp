// xseq eval, average and report (translate: train/translate_command.cpp).
#include "train/eval_commands.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "framework/parallel.hpp"
#include "train/cli_common.hpp"
#include "train/evaluation.hpp"
#include "train/report.hpp"

namespace xseq {

void average_checkpoints(const std::vector<std::string>& paths, const std::string& out) {
  XSEQ_CHECK(paths.size() >= 2, "xseq average: give at least two checkpoints");
  TrainedModel first = load_trained_model(paths[0]);
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
namespace {

struct EvalFlags {
  std::string checkpoint, data, json, hyps;
  DecodeFlags decode;
  int threads = -1;
};

// The test pairs as ids; sides longer than --max-input are cut (and counted) so
// that no line can make evaluation run out of memory.
TokenizedCorpus encode_test_set(const TrainedModel& l, const ParallelText& text, std::int64_t max_input) {
  EncodeOptions eo;
  eo.max_len = max_input;
  eo.over_long = OverLong::truncate;
  EncodeReport report;
  TokenizedCorpus corpus = encode_corpus(text, *l.pipeline.tokenizer, *l.pipeline.tokenizer, l.pipeline.source_vocab,
                                         l.pipeline.target_vocab, eo, &report);
  if (report.truncated > 0)
    std::fprintf(stderr, "%s: %lld pairs had a side longer than --max-input %lld tokens and were truncated\n",
                 text.origin().c_str(), static_cast<long long>(report.truncated), static_cast<long long>(max_input));
  return corpus;
}

void write_text_file(const std::string& path, const std::string& text, const char* flag) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  XSEQ_CHECK(out.good(), "xseq eval: cannot write ", flag, " '", path, "'");
}

int evaluate_checkpoint(const EvalFlags& f) {
  TrainedModel l = load_trained_model(f.checkpoint);
  set_num_threads(f.threads >= 0 ? f.threads : static_cast<int>(l.config.train.threads));
  const ParallelText text = read_corpus(f.data);
  const TokenizedCorpus corpus = encode_test_set(l, text, max_input_tokens(f.decode.max_input, l.config));
  EvalOptions o;
  o.batch_size = f.decode.batch;
  o.decode = f.decode.options();
  std::vector<std::string> hyps;
  o.hypotheses = &hyps;
  const auto metrics = evaluate(*l.model, l.pipeline, corpus, text, o);
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  for (const auto& [k, v] : metrics) {
    std::printf("%-18s %.6g\n", k.c_str(), v);
    json[k] = v;
  }
  if (!f.json.empty()) write_text_file(f.json, json.dump() + "\n", "--json");
  if (!f.hyps.empty()) {
    std::string all;
    for (const auto& h : hyps) all += h + "\n";
    write_text_file(f.hyps, all, "--hyps");
  }
  return 0;
}

Command add_eval(CLI::App& root) {
  auto* cmd = root.add_subcommand("eval", "metrics of a checkpoint on a test set");
  cmd->footer(
      "Prints (and with --json writes) loss, perplexity, token_accuracy (teacher forced),\n"
      "exact_match, token_error_rate, bleu and chrf (as sacreBLEU computes them), sentences,\n"
      "sentences_per_s and tokens_per_s. --data also takes two line-aligned files joined by a\n"
      "comma (test.src,test.tgt).");
  auto f = std::make_shared<EvalFlags>();
  cmd->add_option("--checkpoint", f->checkpoint, "a checkpoint written by xseq train")->required();
  cmd->add_option("--data", f->data, "the test pairs: a TSV file, or SRC,TGT files")->required();
  add_decode_flags(*cmd, f->decode, 64);
  cmd->add_option("--json", f->json, "also write the metrics as a JSON object to FILE");
  cmd->add_option("--hyps", f->hyps, "write the decoded sentences to FILE, one per line");
  add_threads_flag(*cmd, f->threads, "the checkpoint's train.threads");
  return {cmd, [f] { return evaluate_checkpoint(*f); }};
}

Command add_report(CLI::App& root) {
  auto* cmd = root.add_subcommand("report", "a self-contained HTML report of a run directory");
  cmd->footer(
      "Writes one self-contained HTML page (inline SVG, no network resources): training and\n"
      "validation curves from log.jsonl, final metrics, attention heatmaps of N validation\n"
      "sentences decoded with best.h5, and the config.");
  struct Flags {
    std::string run_dir, out;
    int heatmaps = 3, threads = -1;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("run_dir", f->run_dir, "the run directory (train.out_dir)")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out", f->out, "where to write the page (default RUN_DIR/report.html)");
  cmd->add_option("--heatmaps", f->heatmaps, "validation sentences with heatmaps")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  add_threads_flag(*cmd, f->threads, "all cores");
  return {cmd, [f] {
            set_num_threads(f->threads < 0 ? 0 : f->threads);
            write_report(f->run_dir, f->out, f->heatmaps);
            std::printf("wrote %s\n", f->out.empty() ? (f->run_dir + "/report.html").c_str() : f->out.c_str());
            return 0;
          }};
}

Command add_average(CLI::App& root) {
  auto* cmd = root.add_subcommand("average", "average the parameters of checkpoints of one model");
  cmd->footer(
      "Averages the parameters of several checkpoints of one model (same config and\n"
      "vocabularies), e.g. the last few of a run; the result loads like any checkpoint.");
  struct Flags {
    std::string out;
    std::vector<std::string> checkpoints;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--out", f->out, "the averaged checkpoint to write")->required();
  cmd->add_option("checkpoints", f->checkpoints, "two or more checkpoints")->required()->expected(2, -1);
  return {cmd, [f] {
            average_checkpoints(f->checkpoints, f->out);
            std::printf("averaged %zu checkpoints into %s\n", f->checkpoints.size(), f->out.c_str());
            return 0;
          }};
}

}  // namespace

std::vector<Command> add_eval_commands(CLI::App& root) {
  return {add_translate_command(root), add_eval(root), add_average(root), add_report(root)};
}

}  // namespace xseq::cli
