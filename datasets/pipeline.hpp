// The text pipeline of a model (tokenizer + vocabularies) and how a checkpoint
// stores it, so that decoding rebuilds exactly the pipeline training used.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datasets/tokenizer.hpp"
#include "datasets/vocab.hpp"
#include "framework/checkpoint.hpp"

namespace xseq {

/// The text pipeline of a model: tokenizer(s) + vocabularies.
struct TextPipeline {
  std::shared_ptr<Tokenizer> tokenizer;  ///< the source side, and the target side too unless target_tokenizer is set
  /// A SentencePiece model of the target side's own (`xseq data spm` without
  /// --shared); null: `tokenizer` serves both sides.
  std::shared_ptr<Tokenizer> target_tokenizer;
  Vocab source_vocab, target_vocab;
  const Tokenizer& source_side() const { return *tokenizer; }
  const Tokenizer& target_side() const { return target_tokenizer ? *target_tokenizer : *tokenizer; }
  /// Ids -> text (stops at </s>; skips <pad>, <s>).
  std::string detokenize(const std::vector<std::int32_t>& ids) const;
  /// Stores the pipeline in checkpoint extras (vocab/src, vocab/tgt, tokenizer/*).
  void save(CheckpointExtras& extras) const;
  static TextPipeline load(const H5File& checkpoint);
};

/// Where a checkpoint keeps a SentencePiece model: bytes (format 3), or base64
/// text (formats 1 and 2).
inline constexpr const char* kSentencePieceBytes = "tokenizer/sentencepiece";
inline constexpr const char* kSentencePieceBase64 = "tokenizer/sentencepiece_base64";
/// The target side's own SentencePiece model, when it has one (format 3).
inline constexpr const char* kTargetSentencePieceBytes = "tokenizer/sentencepiece_target";
/// The serialized SentencePiece model a checkpoint stores, from either place.
std::string stored_sentencepiece(const H5File& checkpoint);

}  // namespace xseq
