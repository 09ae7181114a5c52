// xseq score: forced decoding. The log-probability a checkpoint gives each
// target of a test set, like marian-scorer.
#include <cstdio>
#include <string>

#include "framework/parallel.hpp"
#include "decode/translator.hpp"
#include "cli/command.hpp"
#include "framework/distributed_gather.hpp"
#include "eval/evaluation.hpp"
#include "decode/trained_model.hpp"
#include "decode/scoring.hpp"

namespace xseq::cli {
namespace {

struct ScoreFlags {
  std::string checkpoint, data;
  std::int64_t batch = 64, max_input = -1;
  int threads = -1;
  std::string precision;
};

void print_score(std::int64_t index, double log_prob, std::int64_t tokens) {
  std::printf("%lld\t%.6f\t%.6f\t%lld\n", static_cast<long long>(index), log_prob, log_prob / double(tokens),
              static_cast<long long>(tokens));
}

void report_truncated(const std::string& origin, std::int64_t truncated, std::int64_t max_input) {
  if (truncated > 0)
    std::fprintf(stderr, "%s: %lld pairs had a side longer than --max-input %lld tokens and were truncated\n",
                 origin.c_str(), static_cast<long long>(truncated), static_cast<long long>(max_input));
}

// One process: xseq::Translator::score (decode/translator.hpp).
int score_one_process(const ScoreFlags& f) {
  TranslatorOptions o;
  o.batch_size = f.batch;
  o.max_input = f.max_input > 0 ? f.max_input : 0;
  o.threads = f.threads;
  o.precision = f.precision;
  const Translator translator(f.checkpoint, o);
  const ParallelText text = read_corpus(f.data);
  std::vector<std::string> sources, targets;
  for (std::int64_t i = 0; i < text.size(); ++i) {
    sources.emplace_back(text.source(i));
    targets.emplace_back(text.target(i));
  }
  const std::vector<TargetScore> scores = translator.score(sources, targets);
  std::int64_t truncated = 0;
  for (const TargetScore& s : scores) truncated += s.truncated;
  report_truncated(text.origin(), truncated, translator.max_input());
  for (std::size_t i = 0; i < scores.size(); ++i)
    print_score(std::int64_t(i), scores[i].log_prob, std::int64_t(scores[i].tokens.size()));
  return 0;
}

// Under mpirun the ranks score shares of the pairs; rank 0 alone prints.
int score_sharded(const ScoreFlags& f, Communicator& comm) {
  TrainedModel l = load_trained_model(f.checkpoint);
  set_num_threads(f.threads >= 0 ? f.threads : static_cast<int>(l.config.train.threads));
  const ParallelText text = read_corpus(f.data);
  const std::int64_t max_input = max_input_tokens(f.max_input, l.config);
  EncodeOptions eo;
  eo.max_len = max_input;
  eo.over_long = OverLong::truncate;
  EncodeReport report;
  const TokenizedCorpus corpus = encode_corpus(text, l.pipeline.source_side(), l.pipeline.target_side(),
                                               l.pipeline.source_vocab, l.pipeline.target_vocab, eo, &report);
  if (comm.rank() == 0) report_truncated(text.origin(), report.truncated, max_input);
  if (!f.precision.empty()) set_model_precision(*l.model, parse_precision(f.precision, "--precision"));
  const std::vector<PairScore> scores = score_corpus(*l.model, corpus, f.batch, &comm);
  if (comm.rank() != 0) return 0;
  for (std::int64_t i = 0; i < corpus.size(); ++i)
    print_score(corpus.origin_index(i), scores[std::size_t(i)].log_prob, scores[std::size_t(i)].tokens);
  return 0;
}

}  // namespace

Command add_score_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("score", "log-probabilities of the targets of a test set (forced decoding)");
  cmd->footer(
      "Scores every pair of --data (a TSV file, or SRC,TGT files) by teacher forcing: one line\n"
      "per pair, in input order: index<TAB>log_prob<TAB>log_prob_per_token<TAB>tokens, where\n"
      "index is the 0-based pair number, log_prob the natural-log probability of the target\n"
      "with </s>, and tokens the target's token count with </s>. Sides longer than --max-input\n"
      "are truncated (and counted on stderr) before scoring.");
  auto f = std::make_shared<ScoreFlags>();
  cmd->add_option("--checkpoint", f->checkpoint, "a checkpoint written by xseq train")->required();
  cmd->add_option("--data", f->data, "the pairs to score: a TSV file, or SRC,TGT files")->required();
  cmd->add_option("--batch", f->batch, "pairs scored together")
      ->check(kInteger)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{65536}))
      ->default_val(64);
  cmd->add_option("--max-input", f->max_input,
                  "longest source and target in tokens (default: the model's data.max_len, or 1024 when that is 0)")
      ->check(kInteger)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  add_threads_flag(*cmd, f->threads, "the checkpoint's train.threads");
  add_precision_flag(*cmd, f->precision);
  return {cmd, [f] {
            Communicator& comm = process_communicator();
            if (comm.size() == 1) return score_one_process(*f);
            return run_on_every_rank(comm, [&] { return score_sharded(*f, comm); });
          }};
}

}  // namespace xseq::cli
