#include "train/data_commands.hpp"

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
#include "train/cli_args.hpp"

namespace xseq::cli {
namespace {

const char* kDataUsage =
    "usage: xseq data make TASK --out DIR [--train N] [--valid N] [--test N] [--seed N]\n"
    "                           [--min-len N] [--max-len N] [--alphabet S] [--max-digits N]\n"
    "       xseq data stats FILE [--valid FILE] [--tokenizer char|space] [--max-len N]\n"
    "                            [--batch-size N | --batch-tokens N] [--json 1]\n"
    "\n"
    "TASK: copy, reverse, sort, addition, dates, toy-translation.\n"
    "FILE: a TSV file (source<TAB>target), or two line-aligned files joined by a comma\n"
    "      (train.src,train.tgt).\n";

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

int make(const Args& args) {
  XSEQ_CHECK(args.positional.size() == 1, "xseq data make: expected one TASK (see xseq data --help)");
  XSEQ_CHECK(args.options.count("out"), "xseq data make: --out DIR is required");
  TaskOptions o;
  o.name = args.positional[0];
  o.train = args.get_int("train", static_cast<int>(o.train));
  o.valid = args.get_int("valid", static_cast<int>(o.valid));
  o.test = args.get_int("test", static_cast<int>(o.test));
  o.seed = args.get_u64("seed", o.seed);
  o.min_len = args.get_int("min-len", static_cast<int>(o.min_len));
  o.max_len = args.get_int("max-len", static_cast<int>(o.max_len));
  o.max_digits = args.get_int("max-digits", static_cast<int>(o.max_digits));
  if (args.options.count("alphabet")) o.alphabet = args.options.at("alphabet");
  const TaskData data = make_task(o);
  const std::string dir = args.options.at("out");
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

int stats(const Args& args) {
  XSEQ_CHECK(args.positional.size() == 1, "xseq data stats: expected one FILE (see xseq data --help)");
  const auto tokenizer = make_tokenizer(args.options.count("tokenizer") ? args.options.at("tokenizer") : "char");
  const auto t0 = std::chrono::steady_clock::now();
  const ParallelText train = read_corpus(args.positional[0]);
  const auto t1 = std::chrono::steady_clock::now();
  std::unique_ptr<ParallelText> valid;
  if (args.options.count("valid")) valid = std::make_unique<ParallelText>(read_corpus(args.options.at("valid")));
  const CorpusStats st = corpus_stats(train, *tokenizer, valid.get());

  // What training does next: a shared vocabulary and the corpus as ids.
  const auto t2 = std::chrono::steady_clock::now();
  VocabBuilder builder;
  count_tokens(train, *tokenizer, Side::both, builder);
  const Vocab vocab = builder.build();
  EncodeOptions eo;
  eo.max_len = args.get_int("max-len", 0);
  EncodeReport report;
  const TokenizedCorpus ids = encode_corpus(train, *tokenizer, *tokenizer, vocab, vocab, eo, &report);
  const auto t3 = std::chrono::steady_clock::now();
  const auto seconds = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };

  // Padding of one epoch's batches, with and without length bucketing.
  BatchOptions bo;
  bo.batch_size = args.get_int("batch-size", 64);
  bo.batch_tokens = args.get_int("batch-tokens", 0);
  const double bucketed = BatchIterator(ids, bo).padding_fraction();
  bo.bucket = false;
  const double unbucketed = BatchIterator(ids, bo).padding_fraction();
  const std::string batching = bo.batch_tokens > 0 ? std::to_string(bo.batch_tokens) + " tokens"
                                                   : std::to_string(bo.batch_size) + " sentences";

  if (args.get_int("json", 0) != 0) {
    std::string json = st.to_json();
    json.pop_back();
    std::printf("%s, \"padding_bucketed\": %.4f, \"padding_unbucketed\": %.4f}\n", json.c_str(), bucketed,
                unbucketed);
  } else {
    std::printf("%s", st.to_text().c_str());
    std::printf("batches of %s: padding %.1f%% with length bucketing, %.1f%% without\n", batching.c_str(),
                100.0 * bucketed, 100.0 * unbucketed);
    std::printf("%s\n", report.summary(train.origin()).c_str());
  }
  std::fflush(stdout);
  struct stat file {};
  const double file_mb = ::stat(args.positional[0].c_str(), &file) == 0 ? double(file.st_size) / 1048576.0 : 0.0;
  std::fprintf(stderr, "read %lld pairs in %.2f s; vocabulary (%lld tokens) and ids in %.2f s; peak RSS %.0f MB",
               static_cast<long long>(train.size()), seconds(t0, t1), static_cast<long long>(vocab.size()),
               seconds(t2, t3), peak_rss_mb());
  if (file_mb > 0) std::fprintf(stderr, " (file %.0f MB)", file_mb);
  std::fprintf(stderr, "\n");
  (void)ids;
  return 0;
}

}  // namespace

int run_data_command(int argc, char** argv) {
  const std::string sub = argc > 2 ? argv[2] : "";
  if (sub.empty() || sub == "--help" || sub == "-h") {
    std::fputs(kDataUsage, sub.empty() ? stderr : stdout);
    return sub.empty() ? 2 : 0;
  }
  if (sub == "make") {
    return make(Args::parse(argc, argv, 3,
                            {"out", "train", "valid", "test", "seed", "min-len", "max-len", "alphabet", "max-digits"},
                            "data make"));
  }
  if (sub == "stats")
    return stats(Args::parse(argc, argv, 3, {"valid", "tokenizer", "max-len", "json", "batch-size", "batch-tokens"},
                             "data stats"));
  std::fprintf(stderr, "xseq data: unknown subcommand '%s'\n\n%s", sub.c_str(), kDataUsage);
  return 2;
}

}  // namespace xseq::cli
