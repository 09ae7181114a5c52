// From a config's [data] section to id corpora: read (or generate) the splits,
// build or load the tokenizer and vocabularies, encode.
#pragma once

#include <memory>
#include <string>

#include "datasets/batching.hpp"
#include "datasets/corpus.hpp"
#include "datasets/pipeline.hpp"
#include "config/config.hpp"

namespace xseq {

struct PreparedData {
  TextPipeline pipeline;
  ParallelText train_text, valid_text, test_text;  ///< test may be empty
  TokenizedCorpus train, valid, test;
};

/// The tokenizer(s) and vocabularies [data] asks for: loaded from its files
/// (sentencepiece_model, source_vocab, target_vocab) or built from `train_text`
/// (SentencePiece trained on both sides, with a soft vocab_size). Prints what it
/// did when verbose.
TextPipeline build_pipeline(const DataConfig& config, const ParallelText& train_text, bool verbose);

/// Builds everything; prints loading summaries (pairs kept, dropped, <unk>) when verbose.
/// With `pipeline` given (resume, evaluation) its tokenizer and vocabularies are reused.
PreparedData prepare_data(const DataConfig& config, bool verbose, const TextPipeline* pipeline = nullptr);

/// Encodes `text` with an existing pipeline (evaluation of other files).
TokenizedCorpus encode_with(const TextPipeline& pipeline, const ParallelText& text, const DataConfig& config,
                            bool verbose);

}  // namespace xseq
