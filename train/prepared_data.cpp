#include "train/prepared_data.hpp"

#include <cstdio>
#include <cstring>

#include "datasets/tasks.hpp"

namespace xseq {
namespace {

ParallelText from_pairs(const std::vector<TextPair>& pairs, const std::string& origin) {
  ParallelText text(origin);
  for (std::size_t i = 0; i < pairs.size(); ++i) text.add(pairs[i].source, pairs[i].target, static_cast<std::int64_t>(i) + 1);
  return text;
}

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// SentencePiece models are binary; HDF5 strings are NUL-terminated, so store base64.
std::string base64_encode(const std::string& in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const auto b = [&](std::size_t k) { return k < in.size() ? static_cast<unsigned char>(in[k]) : 0u; };
    const unsigned v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kBase64[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kBase64[v & 63] : '=';
  }
  return out;
}

std::string base64_decode(const std::string& in) {
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::strchr(kBase64, c);
    if (c == '=' || p == nullptr || c == '\0') continue;
    v = (v << 6) | static_cast<unsigned>(p - kBase64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((v >> bits) & 0xFF);
    }
  }
  return out;
}

}  // namespace

std::string TextPipeline::detokenize(const std::vector<std::int32_t>& ids) const {
  std::vector<std::string> tokens;
  for (auto id : ids) {
    if (id == Vocab::kEos) break;
    if (id == Vocab::kPad || id == Vocab::kBos) continue;
    tokens.push_back(target_vocab.token(id));
  }
  return tokenizer->decode(tokens);
}

void TextPipeline::save(CheckpointExtras& extras) const {
  extras.strings["vocab/src"] = source_vocab.serialize();
  extras.strings["vocab/tgt"] = target_vocab.serialize();
  extras.attributes["tokenizer"] = tokenizer->name();
  if (auto* sp = dynamic_cast<const SentencePieceTokenizer*>(tokenizer.get()))
    extras.strings["tokenizer/sentencepiece_base64"] = base64_encode(sp->serialized());
}

TextPipeline TextPipeline::load(const H5File& file) {
  TextPipeline p;
  const std::string name = file.attribute("tokenizer");
  XSEQ_CHECK(!name.empty(), "checkpoint '", file.path(), "' names no tokenizer");
  if (name == "sentencepiece")
    p.tokenizer = SentencePieceTokenizer::from_serialized(base64_decode(file.read_string("tokenizer/sentencepiece_base64")));
  else
    p.tokenizer = make_tokenizer(name);
  p.source_vocab = Vocab::deserialize(file.read_string("vocab/src"), file.path() + ":/vocab/src");
  p.target_vocab = Vocab::deserialize(file.read_string("vocab/tgt"), file.path() + ":/vocab/tgt");
  return p;
}

TrainedModel load_trained_model(const std::string& checkpoint) {
  auto file = open_checkpoint(checkpoint);
  TrainedModel t;
  // The plugins its layers and model type come from, before the config names them.
  load_manifest_plugins(file->attribute("plugins"), "checkpoint '" + checkpoint + "'");
  t.config = parse_config(file->attribute("config"), checkpoint + ":config");
  t.pipeline = TextPipeline::load(*file);
  Rng rng(0);
  t.model = make_model(t.config.model, t.pipeline.source_vocab.size(), t.pipeline.target_vocab.size(), rng);
  load_inference_parameters(*file, *t.model);
  t.model->eval();
  return t;
}

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
