// xseq train: the flags, then train/trainer.cpp; a few test sentences at the end.
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/command.hpp"
#include "decode/decoding.hpp"
#include "framework/distributed.hpp"
#include "train/trainer.hpp"
#include "decode/trained_model.hpp"

namespace xseq::cli {
namespace {

// A TOML basic string, for passing a path through --set.
std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

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

// Under mpirun, a rank that fails must not leave the others waiting in a
// collective: it names itself and takes the whole job down.
TrainResult train_on_every_rank(const Config& config, const TrainOptions& options) {
  Communicator& comm = *options.communicator;
  if (comm.size() == 1) return train_model(config, options);
  try {
    return train_model(config, options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error (rank %d of %d): %s\n", comm.rank(), comm.size(), e.what());
    comm.abort(1);
  }
}

struct TrainFlags {
  std::string config_path, out, init_from;
  std::vector<std::string> sets;
  bool resume = false;
  int threads = -1;
};

// --init-from, else train.init_from; --resume continues a run, so it ignores the key.
std::string start_checkpoint(const TrainFlags& f, const Config& config) {
  if (!f.init_from.empty() || f.resume) return f.init_from;
  const std::string& path = config.train.init_from;
  XSEQ_CHECK(path.empty() || std::filesystem::is_regular_file(path), config.source, ": train.init_from = '", path,
             "' is not a file (relative to ", std::filesystem::current_path().string(),
             "): train the model it names first, or give --init-from");
  return path;
}

Command add_train(CLI::App& root) {
  auto* cmd = root.add_subcommand("train", "train a model from a config file");
  cmd->footer(
      "The run directory (train.out_dir, or --out) gets config.toml (resolved), log.jsonl,\n"
      "last.h5 and best.h5 (and ckpt-<step>.h5 / averaged.h5 with train.keep_checkpoints /\n"
      "train.average_last). --resume continues from last.h5 exactly where it stopped.\n"
      "--init-from CKPT (or train.init_from) starts a new run (fine-tuning) from a trained model's weights, keeping\n"
      "its tokenizer and vocabularies; [model] must match it; optimizer, schedule and step\n"
      "start afresh. Ctrl-C (SIGINT) and SIGTERM save last.h5 and exit (codes 130 and 143).");
  auto f = std::make_shared<TrainFlags>();
  cmd->add_option("config", f->config_path, "the config file (TOML)")->required()->check(CLI::ExistingFile);
  add_set_flag(*cmd, f->sets);
  cmd->add_option("--out", f->out, "run directory (overrides train.out_dir)");
  auto* resume = cmd->add_flag("--resume", f->resume, "continue the run in the run directory from its last.h5");
  cmd->add_option("--init-from", f->init_from, "fine-tune: start a new run from this checkpoint's weights")
      ->check(CLI::ExistingFile)
      ->excludes(resume);
  add_threads_flag(*cmd, f->threads, "train.threads");
  return {cmd, [f] {
            std::vector<std::string> sets = f->sets;
            if (!f->out.empty()) sets.push_back("train.out_dir=" + toml_string(f->out));
            if (f->threads >= 0) sets.push_back("train.threads=" + std::to_string(f->threads));
            const Config config = load_config(f->config_path, sets);
            TrainOptions options;
            options.resume = f->resume;
            options.init_from = start_checkpoint(*f, config);
            options.communicator = &process_communicator();
            const TrainResult result = train_on_every_rank(config, options);
            const std::string best = config.train.out_dir + "/best.h5";
            if (result.exit_code == 0 && options.communicator->rank() == 0 && std::filesystem::exists(best))
              show_translations(best);
            return result.exit_code;
          }};
}

}  // namespace

Command add_train_command(CLI::App& root) { return add_train(root); }

}  // namespace xseq::cli
