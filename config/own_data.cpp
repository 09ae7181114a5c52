#include "config/own_data.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "datasets/corpus.hpp"
#include "datasets/tokenizer.hpp"

namespace xseq {
namespace {

namespace fs = std::filesystem;

// The validation file beside the training one, when there is one.
std::string guess_valid(const std::string& train) {
  if (train.find(',') != std::string::npos) return "";
  const fs::path dir = fs::path(train).parent_path();
  for (const char* name : {"valid.tsv", "dev.tsv", "validation.tsv", "val.tsv"}) {
    const fs::path candidate = dir / name;
    if (candidate != fs::path(train) && fs::exists(candidate)) return candidate.string();
  }
  return "";
}

struct LengthFacts {
  std::int64_t pairs = 0, p50 = 0, p99 = 0, longest = 0, max_len = 64;
};

// Words per side (whitespace tokens), the longer side of each pair: subword
// pieces run about 1.5 per word, so max_len = 1.5 x the 99th percentile + 2,
// rounded up to a multiple of 8 (16 to 1024).
LengthFacts measure(const std::string& train) {
  const ParallelText text = read_corpus(train);
  SpaceTokenizer words;
  std::vector<std::int64_t> lengths;
  for (std::int64_t i = 0; i < text.size(); ++i)
    lengths.push_back(std::int64_t(std::max(words.encode(text.source(i)).size(), words.encode(text.target(i)).size())));
  std::sort(lengths.begin(), lengths.end());
  LengthFacts f;
  f.pairs = text.size();
  f.p50 = lengths[lengths.size() / 2];
  f.p99 = lengths[std::min(lengths.size() - 1, lengths.size() * 99 / 100)];
  f.longest = lengths.back();
  const auto pieces = std::int64_t(std::ceil(1.5 * double(f.p99))) + 2;
  f.max_len = std::clamp<std::int64_t>((pieces + 7) / 8 * 8, 16, 1024);
  return f;
}

std::string toml_quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string own_data_config(const OwnDataTemplate& o) {
  std::string valid = o.valid.empty() ? guess_valid(o.train) : o.valid;
  const bool valid_guessed = o.valid.empty() && !valid.empty();
  if (valid.empty()) valid = "data/valid.tsv";
  std::string measured;
  std::int64_t max_len = 64;
  if (o.measure) {
    const LengthFacts f = measure(o.train);
    max_len = f.max_len;
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "# %s: %lld pairs; the longer side of a pair has %lld words at the median, %lld at the 99th\n"
                  "# percentile, %lld at most: max_len = 1.5 x %lld + 2 subword pieces, rounded up to 8.\n",
                  o.train.c_str(), static_cast<long long>(f.pairs), static_cast<long long>(f.p50),
                  static_cast<long long>(f.p99), static_cast<long long>(f.longest), static_cast<long long>(f.p99));
    measured = buf;
  }
  std::string t;
  t += "# A config for your own parallel text (`xseq config init`). Train with\n";
  t += "#   xseq train THIS_FILE\n";
  t += "# Every key, its default and its range: docs/config.md; the steps: docs/own-data.md.\n";
  t += "# Paths are relative to the directory you run xseq in.\n";
  t += measured;
  t += "\n[data]\n";
  t += "train = " + toml_quoted(o.train) + "   # source<TAB>target per line, or \"train.src,train.tgt\"\n";
  t += "valid = " + toml_quoted(valid) + (valid_guessed ? "   # found beside train" : "   # a few hundred to a few thousand held-out pairs") + "\n";
  t += "# test = \"data/test.tsv\"   # optional: best.h5 is evaluated on it at the end\n";
  t += "tokenizer = \"sentencepiece\"   # subword pieces, trained on the training data when the run starts ...\n";
  t += "vocab_size = 8000               # ... this many (a soft limit: a small corpus gets fewer)\n";
  t += "# sentencepiece_model = \"spm.model\"   # ... or a model of your own: xseq data spm TRAIN --vocab-size 8000 --out spm --shared\n";
  t += "max_len = " + std::to_string(max_len) + "   # longest side in pieces; longer pairs are left out (and counted)\n";
  t += "\n[model]\n";
  t += "type = \"transformer\"\n";
  t += "d_model = 256\nheads = 4\nff_dim = 1024\nencoder_layers = 3\ndecoder_layers = 3\ndropout = 0.1\n";
  t += "share_embeddings = true   # one vocabulary for both sides (data.shared_vocab, the default)\n";
  t += "\n[train]\n";
  t += "batch_tokens = 4096   # batches of about this many padded tokens, not a fixed sentence count\n";
  t += "optimizer = \"adam\"\nlr = 0.0007\nschedule = \"noam\"   # warm up, then decay as 1/sqrt(step)\nwarmup_steps = 1000\n";
  t += "max_steps = 20000\n";
  t += "# max_minutes = 60   # or stop after an hour (last.h5 saved, best.h5 tested, as at max_steps)\n";
  t += "label_smoothing = 0.1\nclip_norm = 1.0\n";
  t += "valid_every = 1000\ncheckpoint_every = 1000\nlog_every = 100\n";
  t += "metric = \"bleu\"   # picks best.h5 (sacreBLEU's corpus BLEU of the decoded validation set)\n";
  t += "patience = 10      # stop after 10 validations without a better BLEU\n";
  t += "valid_max_sentences = 500   # decode at most this many validation sentences at each validation\n";
  t += "out_dir = \"runs/own-data\"\n";
  return t;
}

}  // namespace xseq
