
#include <nlohmann/json.hpp>

#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <cstdio>
#include <string>

#include "datasets/batching.hpp"
#include "datasets/corpus.hpp"
#include "datasets/tasks.hpp"
#include "framework/error.hpp"
#include "cli/command.hpp"
#include "config/prepared_data.hpp"
#include "datasets/tokenizer.hpp"


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
  std::string file, valid, tokenizer = "char", sentencepiece_model;
  std::int64_t max_len = 0, batch_size = 64, batch_tokens = 0;
  bool json = false;
};

int stats(const StatsFlags& f) {
  XSEQ_CHECK(f.tokenizer != "sentencepiece" || !f.sentencepiece_model.empty(),
             "xseq data stats --tokenizer sentencepiece needs --sentencepiece-model (xseq data spm writes one)");
  const std::shared_ptr<Tokenizer> tokenizer =
      f.tokenizer == "sentencepiece" ? std::shared_ptr<Tokenizer>(SentencePieceTokenizer::load(
                                           f.sentencepiece_model.substr(0, f.sentencepiece_model.find(','))))
                                     : std::shared_ptr<Tokenizer>(make_tokenizer(f.tokenizer));
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
  cmd->add_option("--tokenizer", f->tokenizer, "char, space or sentencepiece (with --sentencepiece-model)")
      ->check(CLI::IsMember({"char", "space", "sentencepiece"}))
      ->capture_default_str();
  cmd->add_option("--sentencepiece-model", f->sentencepiece_model, "with --tokenizer sentencepiece: the .model file");
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

// Sentences of one side (or both) of a corpus, for SentencePiece training.
std::vector<std::string> side_sentences(const ParallelText& text, Side side) {
  std::vector<std::string> out;
  for (std::int64_t i = 0; i < text.size(); ++i) {
    if (side != Side::target) out.emplace_back(text.source(i));
    if (side != Side::source) out.emplace_back(text.target(i));
  }
  return out;
}

struct SpmFlags {
  std::string file, out, type = "unigram";
  std::int64_t vocab_size = 8000;
  bool shared = false;
};

std::string train_spm(const ParallelText& text, Side side, const SpmFlags& f, const std::string& path) {
  SentencePieceOptions o;
  o.vocab_size = f.vocab_size;
  o.model_type = f.type;
  const auto sentences = side_sentences(text, side);
  const std::int64_t minimum = SentencePieceTokenizer::minimum_vocab_size(sentences);
  if (o.vocab_size < minimum)
    std::printf("%s: --vocab-size %lld is below the %lld pieces these characters need; training %lld\n", path.c_str(),
                static_cast<long long>(o.vocab_size), static_cast<long long>(minimum),
                static_cast<long long>(minimum));
  const auto model = SentencePieceTokenizer::train(sentences, o);
  model->save(path);
  std::printf("wrote %s: a %s model of %lld pieces from %zu sentences\n", path.c_str(), f.type.c_str(),
              static_cast<long long>(model->piece_count()), sentences.size());
  return path;
}

int spm(const SpmFlags& f) {
  const ParallelText text = read_corpus(f.file);
  std::string models;
  if (f.shared) {
    models = train_spm(text, Side::both, f, f.out + ".model");
  } else {
    models = train_spm(text, Side::source, f, f.out + ".src.model") + "," +
             train_spm(text, Side::target, f, f.out + ".tgt.model");
  }
  std::printf("\nin a config:\n[data]\ntokenizer = \"sentencepiece\"\nsentencepiece_model = \"%s\"\n%s",
              models.c_str(), f.shared ? "" : "shared_vocab = false\n");
  return 0;
}

struct VocabFlags {
  std::string file, out;
  DataConfig data;
};

int vocab(VocabFlags& f) {
  XSEQ_CHECK(f.data.tokenizer != "sentencepiece" || !f.data.sentencepiece_model.empty(),
             "xseq data vocab --tokenizer sentencepiece needs --sentencepiece-model (xseq data spm writes one)");
  const ParallelText text = read_corpus(f.file);
  const TextPipeline p = build_pipeline(f.data, text, true);
  std::error_code ec;
  std::filesystem::create_directories(f.out, ec);
  XSEQ_CHECK(!ec, "xseq data vocab: cannot create directory '", f.out, "': ", ec.message());
  const auto write = [&](const std::string& name, const Vocab& v) {
    const std::string path = f.out + "/" + name;
    std::ofstream out(path, std::ios::binary);
    out << v.serialize();
    out.close();
    XSEQ_CHECK(out.good(), "xseq data vocab: cannot write '", path, "'");
    std::printf("wrote %s: %lld tokens\n", path.c_str(), static_cast<long long>(v.size()));
    return path;
  };
  std::printf("\nin a config:\n[data]\ntokenizer = \"%s\"\n", f.data.tokenizer.c_str());
  if (!f.data.sentencepiece_model.empty()) std::printf("sentencepiece_model = \"%s\"\n", f.data.sentencepiece_model.c_str());
  if (f.data.shared_vocab) {
    const std::string path = write("vocab.shared", p.source_vocab);
    std::printf("source_vocab = \"%s\"\n", path.c_str());
  } else {
    const std::string source = write("vocab.src", p.source_vocab), target = write("vocab.tgt", p.target_vocab);
    std::printf("shared_vocab = false\nsource_vocab = \"%s\"\ntarget_vocab = \"%s\"\n", source.c_str(), target.c_str());
  }
  return 0;
}

Command add_spm(CLI::App& data) {
  auto* cmd = data.add_subcommand("spm", "train SentencePiece models on a corpus, for data.sentencepiece_model");
  cmd->footer(
      "Trains one model per side (PREFIX.src.model, PREFIX.tgt.model), or with --shared one for both\n"
      "(PREFIX.model), through Debian's SentencePiece (identity normalisation, byte fallback: decoding\n"
      "restores the text byte for byte). --vocab-size is a soft limit: a small corpus gets fewer pieces,\n"
      "and a size below what its characters need is raised. Prints the [data] lines that use them.");
  auto f = std::make_shared<SpmFlags>();
  cmd->add_option("file", f->file, "a TSV file (source<TAB>target), or two line-aligned files SRC,TGT")->required();
  cmd->add_option("--vocab-size", f->vocab_size, "pieces per model (a soft limit)")
      ->check(CLI::Range(std::int64_t{16}, std::int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--out", f->out, "path prefix of the model files")->required();
  cmd->add_option("--type", f->type, "unigram or bpe")->check(CLI::IsMember({"unigram", "bpe"}))->capture_default_str();
  cmd->add_flag("--shared", f->shared, "one model for both sides");
  return {cmd, [f] { return spm(*f); }};
}

Command add_vocab(CLI::App& data) {
  auto* cmd = data.add_subcommand("vocab", "write vocabulary files of a corpus, for data.source_vocab/target_vocab");
  cmd->footer(
      "Builds the vocabularies training would build (same tokenizer, --min-freq, --vocab-size) and\n"
      "writes DIR/vocab.shared (--shared) or DIR/vocab.src and DIR/vocab.tgt, one token per line after a\n"
      "'#xseq-vocab 1' header (ids: line number - 2; <pad> <unk> <s> </s> first). Prints the [data] lines\n"
      "that use them; training then loads them instead of counting again.");
  auto f = std::make_shared<VocabFlags>();
  f->data.shared_vocab = false;
  cmd->add_option("file", f->file, "a TSV file (source<TAB>target), or two line-aligned files SRC,TGT")->required();
  cmd->add_option("--out", f->out, "directory for the vocabulary files")->required();
  cmd->add_flag("--shared", f->data.shared_vocab, "one vocabulary for both sides");
  cmd->add_option("--tokenizer", f->data.tokenizer, "char, space or sentencepiece")
      ->check(CLI::IsMember({"char", "space", "sentencepiece"}))
      ->capture_default_str();
  cmd->add_option("--sentencepiece-model", f->data.sentencepiece_model,
                  "with --tokenizer sentencepiece: the .model file (or SRC.model,TGT.model)");
  cmd->add_option("--min-freq", f->data.min_freq, "keep tokens seen at least this often")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--vocab-size", f->data.vocab_size, "largest vocabulary, specials included (0 = every token)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 30))
      ->capture_default_str();
  return {cmd, [f] { return vocab(*f); }};
}

}  // namespace

std::vector<Command> add_data_commands(CLI::App& root) {
  auto* data = root.add_subcommand("data", "synthetic tasks, corpus statistics, SentencePiece models, vocabularies");
  data->require_subcommand(1);
  return {add_make(*data), add_stats(*data), add_spm(*data), add_vocab(*data)};
}

}  // namespace xseq::cli
