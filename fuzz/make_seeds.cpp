// Writes the binary seed inputs of the fuzz corpora: two small checkpoints
// (char and SentencePiece text pipelines) and two SentencePiece models.
//   build-fuzz/fuzz/fuzz_make_seeds fuzz/corpus   (from the repository root)
#include <cstdio>
#include <string>
#include <vector>

#include "tiny_model.hpp"
#include "config/prepared_data.hpp"

using namespace xseq;

namespace {

std::vector<std::string> sentences() {
  std::vector<std::string> out;
  const char* words[] = {"the", "cat", "sleeps", "on", "a", "mat", "ñandú", "中文", "über", "42"};
  for (int i = 0; i < 200; ++i)
    out.push_back(std::string(words[i % 10]) + " " + words[(i * 7) % 10] + " " + words[(i * 3 + 1) % 10]);
  return out;
}

void save_tiny_checkpoint(const std::string& path, const TextPipeline& pipeline, const std::string& config) {
  Rng rng(7);
  fuzz::TinyModel model(rng);
  model.train();
  Adam adam(model.named_parameters(), Adam::Options());
  sum(model.forward(IndexTensor({2, 3}, {4, 5, 6, 7, 1, 3}))).backward();
  adam.step(0.01f);
  CheckpointExtras extras;
  pipeline.save(extras);
  extras.attributes["step"] = "1";
  extras.attributes["epoch"] = "0";
  extras.attributes["batch"] = "1";
  extras.attributes["best_metric"] = "0.5";
  extras.attributes["bad_validations"] = "0";
  extras.attributes["config"] = config;
  save_checkpoint(path, model, &adam, extras);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (fuzz/corpus)\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const std::string config = load_config(std::string(XSEQ_SOURCE_DIR) + "/configs/copy-rnn.toml").to_toml();
  TextPipeline chars;
  chars.tokenizer = make_tokenizer("char");
  chars.source_vocab = chars.target_vocab = Vocab({"a", "b", " ", "中"});
  save_tiny_checkpoint(dir + "/checkpoint/char.h5", chars, config);

  SentencePieceOptions options;
  options.vocab_size = 300;
  auto unigram = SentencePieceTokenizer::train(sentences(), options);
  unigram->save(dir + "/sentencepiece/unigram.model");
  options.model_type = "bpe";
  SentencePieceTokenizer::train(sentences(), options)->save(dir + "/sentencepiece/bpe.model");

  TextPipeline pieces;
  pieces.source_vocab = pieces.target_vocab = Vocab({"▁the", "▁cat", "s"});
  pieces.tokenizer = std::move(unigram);
  save_tiny_checkpoint(dir + "/checkpoint/sentencepiece.h5", pieces, config);
  return 0;
}
