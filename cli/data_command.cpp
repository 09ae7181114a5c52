
#include <nlohmann/json.hpp>

#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <cstdio>
#include <string>

#include "datasets/batching.hpp"
#include "datasets/corpus.hpp"
#include "datasets/tasks.hpp"
#include "framework/error.hpp"
#include "cli/command.hpp"


namespace xseq::cli {
namespace {

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

struct MakeFlags {
  TaskOptions task;
  std::string out;
};

int make(const MakeFlags& f) {
  const TaskOptions& o = f.task;
  const std::string& dir = f.out;
  const TaskData data = make_task(o);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  XSEQ_CHECK(!ec, "xseq data make: cannot create directory '", dir, "': ", ec.message());
  write_tsv(dir + "/train.tsv", data.train);
  write_tsv(dir + "/valid.tsv", data.valid);
  write_tsv(dir + "/test.tsv", data.test);
  std::printf("%s: wrote %s/{train,valid,test}.tsv with %zu / %zu / %zu pairs (tokenizer: %s)\n", o.name.c_str(),
              dir.c_str(), data.train.size(), data.valid.size(), data.test.size(), data.tokenizer.c_str());
  for (std::size_t i = 0; i < std::min<std::size_t>(3, data.train.size()); ++i)
    std::printf("  %s  ->  %s\n", data.train[i].source.c_str(), data.train[i].target.c_str());
  return 0;
}

struct StatsFlags {
  std::string file, valid, tokenizer = "char";
  std::int64_t max_len = 0, batch_size = 64, batch_tokens = 0;
  bool json = false;
};

int stats(const StatsFlags& f) {
  const auto tokenizer = make_tokenizer(f.tokenizer);
  const auto t0 = std::chrono::steady_clock::now();
  const ParallelText train = read_corpus(f.file);
  const auto t1 = std::chrono::steady_clock::now();
  std::unique_ptr<ParallelText> valid;
  if (!f.valid.empty()) valid = std::make_unique<ParallelText>(read_corpus(f.valid));
  const CorpusStats st = corpus_stats(train, *tokenizer, valid.get());

  // What training does next: a shared vocabulary and the corpus as ids.
  const auto t2 = std::chrono::steady_clock::now();
  VocabBuilder builder;
  count_tokens(train, *tokenizer, Side::both, builder);
  const Vocab vocab = builder.build();
  EncodeOptions eo;
  eo.max_len = f.max_len;
  EncodeReport report;
  const TokenizedCorpus ids = encode_corpus(train, *tokenizer, *tokenizer, vocab, vocab, eo, &report);
  const auto t3 = std::chrono::steady_clock::now();
  const auto seconds = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };

  // Padding of one epoch's batches, with and without length bucketing.
  BatchOptions bo;
  bo.batch_size = f.batch_size;
  bo.batch_tokens = f.batch_tokens;
  const double bucketed = BatchIterator(ids, bo).padding_fraction();
  bo.bucket = false;
  const double unbucketed = BatchIterator(ids, bo).padding_fraction();
  const std::string batching = bo.batch_tokens > 0 ? std::to_string(bo.batch_tokens) + " tokens"
                                                   : std::to_string(bo.batch_size) + " sentences";

  if (f.json) {
    std::printf("%s\n", corpus_stats_json(st, bucketed, unbucketed).c_str());
  } else {
    std::printf("%s", st.to_text().c_str());
    std::printf("batches of %s: padding %.1f%% with length bucketing, %.1f%% without\n", batching.c_str(),
                100.0 * bucketed, 100.0 * unbucketed);
    std::printf("%s\n", report.summary(train.origin()).c_str());
  }
  std::fflush(stdout);
  struct stat file {};
  const double file_mb = ::stat(f.file.c_str(), &file) == 0 ? double(file.st_size) / 1048576.0 : 0.0;
  std::fprintf(stderr, "read %lld pairs in %.2f s; vocabulary (%lld tokens) and ids in %.2f s; peak RSS %.0f MB",
               static_cast<long long>(train.size()), seconds(t0, t1), static_cast<long long>(vocab.size()),
               seconds(t2, t3), peak_rss_mb());
  if (file_mb > 0) std::fprintf(stderr, " (file %.0f MB)", file_mb);
  std::fprintf(stderr, "\n");
  (void)ids;
  return 0;
}

Command add_make(CLI::App& data) {
  auto* cmd = data.add_subcommand("make", "write a synthetic task's train/valid/test TSVs");
  auto f = std::make_shared<MakeFlags>();
  cmd->add_option("task", f->task.name, "the task")->required()->check(CLI::IsMember(task_names()));
  cmd->add_option("--out", f->out, "directory for train.tsv, valid.tsv, test.tsv")->required();
  const auto count = CLI::Range(std::int64_t{0}, std::int64_t{100000000});
  cmd->add_option("--train", f->task.train, "training pairs")->check(count)->capture_default_str();
  cmd->add_option("--valid", f->task.valid, "validation pairs")->check(count)->capture_default_str();
  cmd->add_option("--test", f->task.test, "test pairs")->check(count)->capture_default_str();
  cmd->add_option("--seed", f->task.seed, "generator seed")->capture_default_str();
  const auto length = CLI::Range(std::int64_t{1}, std::int64_t{100000});
  cmd->add_option("--min-len", f->task.min_len, "copy/reverse/sort: shortest sequence")->check(length)->capture_default_str();
  cmd->add_option("--max-len", f->task.max_len, "copy/reverse/sort: longest sequence")->check(length)->capture_default_str();
  cmd->add_option("--alphabet", f->task.alphabet, "copy/reverse/sort: symbols (UTF-8)")->capture_default_str();
  cmd->add_option("--max-digits", f->task.max_digits, "addition: digits per operand")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{18}))
      ->capture_default_str();
  return {cmd, [f] { return make(*f); }};
}

Command add_stats(CLI::App& data) {
  auto* cmd = data.add_subcommand("stats", "corpus statistics of a TSV file (or SRC,TGT files)");
  auto f = std::make_shared<StatsFlags>();
  cmd->add_option("file", f->file, "a TSV file (source<TAB>target), or two line-aligned files SRC,TGT")->required();
  cmd->add_option("--valid", f->valid, "a validation file: overlap with the training data");
  cmd->add_option("--tokenizer", f->tokenizer, "char or space")->check(CLI::IsMember({"char", "space"}))->capture_default_str();
  cmd->add_option("--max-len", f->max_len, "longest side in tokens (0 = no limit)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 20));
  cmd->add_option("--batch-size", f->batch_size, "sentences per batch")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--batch-tokens", f->batch_tokens, "padded tokens per batch instead of --batch-size")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 30));
  cmd->add_flag("--json", f->json, "print one JSON object instead of text");
  return {cmd, [f] { return stats(*f); }};
}

}  // namespace

std::vector<Command> add_data_commands(CLI::App& root) {
  auto* data = root.add_subcommand("data", "make a synthetic task's TSVs, or print corpus statistics");
  data->require_subcommand(1);
  return {add_make(*data), add_stats(*data)};
}

}  // namespace xseq::cli
