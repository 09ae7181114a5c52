// Transformer encoder-decoder (Vaswani et al. 2017) from framework layers.
// Parameters: src_embed.weight, tgt_embed.weight (absent when shared),
// [src_pos.weight, tgt_pos.weight with learned positions], encoder.layers.<i>.*,
// encoder.norm.* (pre-norm), encoder_extra.<i>.*, decoder.layers.<i>.*,
// decoder.norm.*, decoder_extra.<i>.*, output.* (absent when tied to the target embedding).
#pragma once

#include "framework/layers/transformer.hpp"
#include "models/seq2seq.hpp"

namespace xseq {

class TransformerModel : public Seq2SeqModel {
 public:
  TransformerModel(const ModelConfig& config, std::int64_t source_vocab, std::int64_t target_vocab, Rng& rng);
  Variable logits(const IndexTensor& source, const Lengths& source_lengths, const IndexTensor& decoder_input,
                  const Lengths& target_lengths) override;
  std::unique_ptr<DecoderState> encode(const IndexTensor& source, const Lengths& source_lengths) override;
  DecodeStep step(DecoderState& state, const std::vector<std::int32_t>& tokens) override;
  std::int64_t target_vocab() const override { return target_vocab_; }
  /// The Dense weights, and the target embedding when it is the output projection (tie_output).
  std::vector<NamedParameter> int8_parameters() const override;

 private:
  Variable embed(const Embedding& table, Module& positions, const IndexTensor& ids, std::int64_t offset);
  Variable encode_memory(const IndexTensor& source, const Lengths& lengths, const Tensor& padding);
  Variable project(const Variable& h) const;  // (..., D) -> (..., V)

  ModelConfig config_;
  std::int64_t target_vocab_;
  std::shared_ptr<Embedding> src_embed_, tgt_embed_;
  std::shared_ptr<Module> src_pos_, tgt_pos_;
  std::vector<std::shared_ptr<TransformerEncoderLayer>> encoder_;
  std::vector<std::shared_ptr<SequenceLayer>> extra_;
  std::vector<std::shared_ptr<TransformerDecoderLayer>> decoder_;
  std::vector<std::shared_ptr<SequenceLayer>> decoder_extra_;
  std::shared_ptr<LayerNorm> encoder_norm_, decoder_norm_;
  std::shared_ptr<Dense> output_;
  std::shared_ptr<Dropout> dropout_;
};

}  // namespace xseq
