#include "train/train_commands.hpp"

#include <cstdio>
#include <string>

#include "train/cli_args.hpp"
#include "train/decoding.hpp"
#include "train/trainer.hpp"

namespace xseq::cli {
namespace {

const char* kTrainUsage =
    "usage: xseq train CONFIG [--set section.key=value]... [--resume] [--out DIR]\n"
    "\n"
    "Trains the config's model. The run directory (train.out_dir, or --out) gets\n"
    "config.toml (resolved), log.jsonl, last.h5 and best.h5. --resume continues from\n"
    "last.h5 exactly where it stopped. Ctrl-C saves last.h5 and exits.\n";
const char* kConfigUsage =
    "usage: xseq config CONFIG [--set section.key=value]...   print the resolved config\n"
    "       xseq config --markdown                            print the key reference (docs/config.md)\n";


// A few test sentences with the trained model's greedy output.
void show_translations(const std::string& checkpoint) {
  const TrainedModel trained = load_trained_model(checkpoint);
  const TextPipeline& pipeline = trained.pipeline;
  const PreparedData data = prepare_data(trained.config.data, false, &pipeline);
  const TokenizedCorpus& corpus = data.test.size() > 0 ? data.test : data.valid;
  const ParallelText& text = data.test.size() > 0 ? data.test_text : data.valid_text;
  Seq2SeqModel& model = *trained.model;
  std::vector<std::int64_t> rows;
  for (std::int64_t i = 0; i < std::min<std::int64_t>(8, corpus.size()); ++i) rows.push_back(i);
  const Batch b = make_batch(corpus, rows);
  const auto hyps = greedy_decode(model, b.source, b.source_lengths);
  std::printf("\nsome %s sentences and the model's translations (%s):\n", data.test.size() > 0 ? "test" : "validation",
              checkpoint.c_str());
  for (std::size_t r = 0; r < hyps.size(); ++r) {
    const std::int64_t pair = corpus.origin_index(b.indices[r]);
    const std::string out = pipeline.detokenize(hyps[r].tokens);
    const bool ok = out == text.target(pair);
    std::printf("  %s  %s\n      -> %s\n", ok ? "ok " : "ERR", std::string(text.source(pair)).c_str(), out.c_str());
  }
}

}  // namespace

int run_train_command(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    std::fputs(kTrainUsage, stdout);
    return 0;
  }
  const Args args = Args::parse(argc, argv, 2, {"set", "out"}, "train", {"resume"});
  XSEQ_CHECK(args.positional.size() == 1, "xseq train: expected one CONFIG file (see xseq train --help)");
  std::vector<std::string> sets = args.repeated.count("set") ? args.repeated.at("set") : std::vector<std::string>{};
  if (args.options.count("out")) sets.push_back("train.out_dir=" + args.options.at("out"));
  const Config config = load_config(args.positional[0], sets);
  TrainOptions options;
  options.resume = args.has_flag("resume");
  const TrainResult result = train_model(config, options);
  if (result.exit_code == 0) {
    const std::string best = config.train.out_dir + "/best.h5";
    show_translations(best);
  }
  return result.exit_code;
}

int run_config_command(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    std::fputs(kConfigUsage, stdout);
    return 0;
  }
  const Args args = Args::parse(argc, argv, 2, {"set"}, "config", {"markdown"});
  if (args.has_flag("markdown")) {
    std::fputs(config_markdown().c_str(), stdout);
    return 0;
  }
  XSEQ_CHECK(args.positional.size() == 1, "xseq config: expected one CONFIG file (see xseq config --help)");
  const auto sets = args.repeated.count("set") ? args.repeated.at("set") : std::vector<std::string>{};
  std::fputs(load_config(args.positional[0], sets).to_toml().c_str(), stdout);
  return 0;
}

}  // namespace xseq::cli
