// From [data] to id corpora: read (or generate) the splits, build or load the
// tokenizer and vocabularies, encode. Also what a checkpoint stores to
// rebuild the same text pipeline (vocabularies, tokenizer).
#pragma once

#include <memory>
#include <string>

#include "datasets/batching.hpp"
#include "datasets/corpus.hpp"
#include "framework/checkpoint.hpp"
#include "train/config.hpp"

namespace xseq {

/// The text pipeline of a model: tokenizer + vocabularies.
struct TextPipeline {
  std::shared_ptr<Tokenizer> tokenizer;  ///< both sides
  Vocab source_vocab, target_vocab;
  /// Ids -> text (stops at </s>; skips <pad>, <s>).
  std::string detokenize(const std::vector<std::int32_t>& ids) const;
  /// Stores the pipeline in checkpoint extras (vocab/src, vocab/tgt, tokenizer/*).
  void save(CheckpointExtras& extras) const;
  static TextPipeline load(const H5File& checkpoint);
};

struct PreparedData {
  TextPipeline pipeline;
  ParallelText train_text, valid_text, test_text;  ///< test may be empty
  TokenizedCorpus train, valid, test;
};

/// Builds everything; prints loading summaries (pairs kept, dropped, <unk>) when verbose.
/// With `pipeline` given (resume, evaluation) its tokenizer and vocabularies are reused.
PreparedData prepare_data(const DataConfig& config, bool verbose, const TextPipeline* pipeline = nullptr);

/// A trained model ready for decoding: its config (stored in the checkpoint),
/// its text pipeline and its parameters, in eval mode.
struct TrainedModel {
  Config config;
  TextPipeline pipeline;
  std::shared_ptr<Seq2SeqModel> model;
};
TrainedModel load_trained_model(const std::string& checkpoint);

/// Encodes `text` with an existing pipeline (evaluation of other files).
TokenizedCorpus encode_with(const TextPipeline& pipeline, const ParallelText& text, const DataConfig& config,
                            bool verbose);

}  // namespace xseq
