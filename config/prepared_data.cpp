#include "config/prepared_data.hpp"

#include <cstdio>

#include "datasets/read_file.hpp"
#include "datasets/tasks.hpp"

namespace xseq {
namespace {

ParallelText from_pairs(const std::vector<TextPair>& pairs, const std::string& origin) {
  ParallelText text(origin);
  for (std::size_t i = 0; i < pairs.size(); ++i) text.add(pairs[i].source, pairs[i].target, static_cast<std::int64_t>(i) + 1);
  return text;
}

}  // namespace

TokenizedCorpus encode_with(const TextPipeline& p, const ParallelText& text, const DataConfig& config, bool verbose) {
  EncodeOptions eo;
  eo.max_len = config.max_len;
  eo.over_long = config.over_long == "reject" ? OverLong::reject : OverLong::drop;
  EncodeReport report;
  TokenizedCorpus corpus = encode_corpus(text, p.source_side(), p.target_side(), p.source_vocab, p.target_vocab, eo, &report);
  if (verbose) std::fprintf(stderr, "%s\n", report.summary(text.origin()).c_str());
  return corpus;
}

namespace {

// "a.model" or "src.model,tgt.model".
std::pair<std::string, std::string> split_pair(const std::string& value) {
  const auto comma = value.find(',');
  if (comma == std::string::npos) return {value, ""};
  return {value.substr(0, comma), value.substr(comma + 1)};
}

void sentencepiece_pipeline(const DataConfig& c, const ParallelText& train, bool verbose, TextPipeline& p) {
  if (!c.sentencepiece_model.empty()) {
    const auto [source, target] = split_pair(c.sentencepiece_model);
    p.tokenizer = SentencePieceTokenizer::load(source);
    if (!target.empty()) p.target_tokenizer = SentencePieceTokenizer::load(target);
    return;
  }
  std::vector<std::string> sentences;
  for (std::int64_t i = 0; i < train.size(); ++i) {
    sentences.emplace_back(train.source(i));
    sentences.emplace_back(train.target(i));
  }
  SentencePieceOptions so;
  so.vocab_size = c.vocab_size > 0 ? c.vocab_size : 1000;
  so.model_type = c.sentencepiece_type;
  const std::int64_t minimum = SentencePieceTokenizer::minimum_vocab_size(sentences);
  if (verbose && so.vocab_size < minimum)
    std::fprintf(stderr, "sentencepiece: data.vocab_size %lld is below the %lld pieces these characters need; "
                 "training %lld\n", static_cast<long long>(so.vocab_size), static_cast<long long>(minimum),
                 static_cast<long long>(minimum));
  auto model = SentencePieceTokenizer::train(sentences, so);
  if (verbose)
    std::fprintf(stderr, "sentencepiece: trained a %s model of %lld pieces on the training data\n",
                 so.model_type.c_str(), static_cast<long long>(model->piece_count()));
  p.tokenizer = std::move(model);
}

Vocab vocab_file(const std::string& path) { return Vocab::deserialize(read_whole_file(path, "Vocab"), path); }

}  // namespace

TextPipeline build_pipeline(const DataConfig& c, const ParallelText& train, bool verbose) {
  TextPipeline p;
  if (c.tokenizer == "sentencepiece")
    sentencepiece_pipeline(c, train, verbose, p);
  else
    p.tokenizer = make_tokenizer(c.tokenizer);
  if (!c.source_vocab.empty()) {
    p.source_vocab = vocab_file(c.source_vocab);
    p.target_vocab = c.target_vocab.empty() ? p.source_vocab : vocab_file(c.target_vocab);
    return p;
  }
  const std::int64_t max_size = c.tokenizer == "sentencepiece" ? 0 : c.vocab_size;
  if (c.shared_vocab) {
    VocabBuilder b;
    if (!p.target_tokenizer) {
      count_tokens(train, p.source_side(), Side::both, b);
    } else {
      count_tokens(train, p.source_side(), Side::source, b);
      count_tokens(train, p.target_side(), Side::target, b);
    }
    p.source_vocab = p.target_vocab = b.build(c.min_freq, max_size);
  } else {
    VocabBuilder sb, tb;
    count_tokens(train, p.source_side(), Side::source, sb);
    count_tokens(train, p.target_side(), Side::target, tb);
    p.source_vocab = sb.build(c.min_freq, max_size);
    p.target_vocab = tb.build(c.min_freq, max_size);
  }
  return p;
}

PreparedData prepare_data(const DataConfig& c, bool verbose, const TextPipeline* pipeline) {
  PreparedData d;
  if (!c.task.empty()) {
    TaskOptions o;
    o.name = c.task;
    o.train = c.task_train;
    o.valid = c.task_valid;
    o.test = c.task_test;
    o.min_len = c.task_min_len;
    o.max_len = c.task_max_len;
    o.max_digits = c.task_max_digits;
    o.alphabet = c.task_alphabet;
    o.seed = static_cast<std::uint64_t>(c.task_seed);
    const TaskData task = make_task(o);
    d.train_text = from_pairs(task.train, "task " + c.task + " (train)");
    d.valid_text = from_pairs(task.valid, "task " + c.task + " (valid)");
    d.test_text = from_pairs(task.test, "task " + c.task + " (test)");
  } else {
    d.train_text = read_corpus(c.train);
    d.valid_text = read_corpus(c.valid);
    if (!c.test.empty()) d.test_text = read_corpus(c.test);
  }

  d.pipeline = pipeline ? *pipeline : build_pipeline(c, d.train_text, verbose);
  d.train = encode_with(d.pipeline, d.train_text, c, verbose);
  d.valid = encode_with(d.pipeline, d.valid_text, c, verbose);
  if (!d.test_text.empty()) d.test = encode_with(d.pipeline, d.test_text, c, verbose);
  return d;
}

}  // namespace xseq
