#include "config/prepared_data.hpp"

#include <cstdio>

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
  TokenizedCorpus corpus = encode_corpus(text, *p.tokenizer, *p.tokenizer, p.source_vocab, p.target_vocab, eo, &report);
  if (verbose) std::fprintf(stderr, "%s\n", report.summary(text.origin()).c_str());
  return corpus;
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

  if (pipeline) {
    d.pipeline = *pipeline;
  } else {
    if (c.tokenizer == "sentencepiece") {
      if (!c.sentencepiece_model.empty()) {
        d.pipeline.tokenizer = SentencePieceTokenizer::load(c.sentencepiece_model);
      } else {
        std::vector<std::string> sentences;
        for (std::int64_t i = 0; i < d.train_text.size(); ++i) {
          sentences.emplace_back(d.train_text.source(i));
          sentences.emplace_back(d.train_text.target(i));
        }
        SentencePieceOptions so;
        so.vocab_size = c.vocab_size > 0 ? c.vocab_size : 1000;
        so.model_type = c.sentencepiece_type;
        d.pipeline.tokenizer = SentencePieceTokenizer::train(sentences, so);
      }
    } else {
      d.pipeline.tokenizer = make_tokenizer(c.tokenizer);
    }
    const std::int64_t max_size = c.tokenizer == "sentencepiece" ? 0 : c.vocab_size;
    if (c.shared_vocab) {
      VocabBuilder b;
      count_tokens(d.train_text, *d.pipeline.tokenizer, Side::both, b);
      d.pipeline.source_vocab = d.pipeline.target_vocab = b.build(c.min_freq, max_size);
    } else {
      VocabBuilder sb, tb;
      count_tokens(d.train_text, *d.pipeline.tokenizer, Side::source, sb);
      count_tokens(d.train_text, *d.pipeline.tokenizer, Side::target, tb);
      d.pipeline.source_vocab = sb.build(c.min_freq, max_size);
      d.pipeline.target_vocab = tb.build(c.min_freq, max_size);
    }
  }
  d.train = encode_with(d.pipeline, d.train_text, c, verbose);
  d.valid = encode_with(d.pipeline, d.valid_text, c, verbose);
  if (!d.test_text.empty()) d.test = encode_with(d.pipeline, d.test_text, c, verbose);
  return d;
}

}  // namespace xseq
