// xseq eval, average and report (translate: train/translate_command.cpp).
#include "train/eval_commands.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "framework/parallel.hpp"
#include "train/cli_common.hpp"
#include "train/distributed_gather.hpp"
#include "train/ensemble.hpp"
#include "train/evaluation.hpp"
#include "train/report.hpp"

namespace xseq::cli {
namespace {

struct EvalFlags {
  std::string data, json, hyps;
  DecodeFlags decode;
  int threads = -1;
};

// The test pairs as ids; sides longer than --max-input are cut (and counted) so
// that no line can make evaluation run out of memory.
TokenizedCorpus encode_test_set(const TrainedModel& l, const ParallelText& text, std::int64_t max_input,
                                bool tell) {
  EncodeOptions eo;
  eo.max_len = max_input;
  eo.over_long = OverLong::truncate;
  EncodeReport report;
  TokenizedCorpus corpus = encode_corpus(text, *l.pipeline.tokenizer, *l.pipeline.tokenizer, l.pipeline.source_vocab,
                                         l.pipeline.target_vocab, eo, &report);
  if (report.truncated > 0 && tell)
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

// Under mpirun every rank evaluates a share of the batches (EvalOptions::communicator)
// and gets the metrics of the whole set; rank 0 alone prints and writes them.
int evaluate_checkpoint(const EvalFlags& f, Communicator& comm) {
  TrainedModel l = load_ensemble(f.decode.checkpoints);
  set_num_threads(f.threads >= 0 ? f.threads : static_cast<int>(l.config.train.threads));
  const ParallelText text = read_corpus(f.data);
  const std::int64_t max_input = max_input_tokens(f.decode.max_input, l.config);
  const TokenizedCorpus corpus = encode_test_set(l, text, max_input, comm.rank() == 0);
  EvalOptions o;
  o.batch_size = f.decode.batch;
  o.decode = f.decode.options();
  std::vector<std::string> hyps;
  o.hypotheses = &hyps;
  o.communicator = &comm;
  const auto metrics = evaluate(*l.model, l.pipeline, corpus, text, o);
  if (comm.rank() != 0) return 0;
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
      "comma (test.src,test.tgt). Repeat --checkpoint to evaluate an ensemble (the loss is then\n"
      "that of the renormalised mean of the models' log-probabilities). --sample decodes by\n"
      "sampling; pair i draws from the stream of (--seed, i).");
  auto f = std::make_shared<EvalFlags>();
  cmd->add_option("--data", f->data, "the test pairs: a TSV file, or SRC,TGT files")->required();
  add_decode_flags(*cmd, f->decode, 64);
  cmd->add_option("--json", f->json, "also write the metrics as a JSON object to FILE");
  cmd->add_option("--hyps", f->hyps, "write the decoded sentences to FILE, one per line");
  add_threads_flag(*cmd, f->threads, "the checkpoint's train.threads");
  return {cmd, [f] {
            Communicator& comm = process_communicator();
            return run_on_every_rank(comm, [&] { return evaluate_checkpoint(*f, comm); });
          }};
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

// `xseq average A.h5 B.h5 ... --out OUT` or `xseq average --last N RUN_DIR [--out OUT]`.
int run_average(const std::vector<std::string>& inputs, std::int64_t last, std::string out) {
  std::vector<std::string> paths = inputs;
  if (last > 0) {
    if (inputs.size() != 1)
      throw CLI::ValidationError("--last", "give exactly one run directory with --last, got " +
                                               std::to_string(inputs.size()) + " arguments");
    paths = newest_step_checkpoints(inputs[0], last);
    if (out.empty()) out = (std::filesystem::path(inputs[0]) / "averaged.h5").string();
  } else {
    if (inputs.size() < 2)
      throw CLI::ValidationError("checkpoints", "give two or more checkpoints, or --last N RUN_DIR");
    if (out.empty()) throw CLI::RequiredError("--out");
  }
  average_or_copy(paths, out);
  std::printf("averaged %zu checkpoints into %s\n", paths.size(), out.c_str());
  for (const auto& p : paths) std::printf("  %s\n", p.c_str());
  return 0;
}

Command add_average(CLI::App& root) {
  auto* cmd = root.add_subcommand("average", "average the parameters of checkpoints of one model");
  cmd->footer(
      "Averages the weights of several checkpoints of one model (same config and\n"
      "vocabularies); the result loads like any checkpoint. --last N RUN_DIR takes the newest N\n"
      "ckpt-<step>.h5 of a run (train.keep_checkpoints) and writes RUN_DIR/averaged.h5 unless\n"
      "--out says otherwise. Checkpoints trained with train.ema_decay contribute their moving\n"
      "average.");
  struct Flags {
    std::string out;
    std::int64_t last = 0;
    std::vector<std::string> inputs;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--out", f->out, "the averaged checkpoint to write (required without --last)");
  cmd->add_option("--last", f->last, "average the newest N step checkpoints of the run directory given")
      ->check(kInteger)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000}));
  cmd->add_option("inputs", f->inputs, "two or more checkpoints, or one run directory with --last")
      ->required()
      ->expected(1, -1);
  return {cmd, [f] { return run_average(f->inputs, f->last, f->out); }};
}

}  // namespace

std::vector<Command> add_eval_commands(CLI::App& root) {
  return {add_translate_command(root), add_eval(root), add_score_command(root), add_average(root), add_report(root)};
}

}  // namespace xseq::cli
