// xseq eval: metrics of a checkpoint (or an ensemble) on a test set.

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "framework/parallel.hpp"
#include "cli/command.hpp"
#include "framework/distributed_gather.hpp"
#include "decode/ensemble.hpp"
#include "eval/evaluation.hpp"
#include "eval/metrics.hpp"
#include "decode/trained_model.hpp"

namespace xseq::cli {
namespace {

struct EvalFlags {
  std::string data, json, hyps;
  DecodeFlags decode;
  int threads = -1;
};

void write_text_file(const std::string& path, const std::string& text, const char* flag) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  XSEQ_CHECK(out.good(), "xseq eval: cannot write ", flag, " '", path, "'");
}

// Under mpirun every rank evaluates a share of the batches (EvalOptions::communicator)
// and gets the metrics of the whole set; rank 0 alone prints and writes them.
int evaluate_checkpoint(const EvalFlags& f, Communicator& comm) {
  TestSetOptions o;
  o.decode = f.decode.options();
  o.batch_size = f.decode.batch;
  o.max_input = f.decode.max_input > 0 ? f.decode.max_input : 0;
  o.threads = f.threads;
  o.precision = f.decode.precision;
  std::string precision;
  o.precision_used = &precision;
  std::vector<std::string> hyps;
  o.hypotheses = &hyps;
  o.communicator = &comm;
  const auto metrics = evaluate_test_set(f.decode.checkpoints, f.data, o);
  if (comm.rank() != 0) return 0;
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  for (const auto& [k, v] : metrics) {
    std::printf("%-18s %.6g\n", k.c_str(), v);
    json[k] = v;
  }
  json["precision"] = precision;
  std::printf("%-18s %s\n", "precision", precision.c_str());
  std::printf("%s\n%s\n", bleu_line(metrics.at("bleu"), 1).c_str(), chrf_line(metrics.at("chrf"), 1).c_str());
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

}  // namespace

std::int64_t max_input_tokens(std::int64_t flag, const Config& model_config) {
  if (flag > 0) return flag;
  return model_config.data.max_len > 0 ? model_config.data.max_len : kDefaultMaxInput;
}

Command add_eval_command(CLI::App& root) { return add_eval(root); }

}  // namespace xseq::cli
