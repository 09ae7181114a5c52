// RNN encoder-decoder with attention (Bahdanau et al. 2015, Luong et al. 2015).
// Encoder: a GRU/LSTM stack (optionally bidirectional). Decoder: a GRU/LSTM
// stack whose state starts from a bridge of the encoder's final states and
// attends over the encoder outputs at every step with model.attention
// (seed | dot | general | concat | additive). The attentional vector is
// tanh(W_c [context; h]) (Luong), or the seed layer's own output; with
// input feeding it is also fed to the next step.
// Parameters: src_embed, tgt_embed, encoder.*, [encoder_proj.*], bridge.*,
// encoder_extra.<i>.*, decoder.*, attention.*, [combine.*], decoder_extra.<i>.*, output.*.
#pragma once

#include "framework/layers/recurrent.hpp"
#include "models/seq2seq.hpp"

namespace xseq {

class RNNAttentionModel : public Seq2SeqModel {
 public:
  RNNAttentionModel(const ModelConfig& config, std::int64_t source_vocab, std::int64_t target_vocab, Rng& rng);
  Variable logits(const IndexTensor& source, const Lengths& source_lengths, const IndexTensor& decoder_input,
                  const Lengths& target_lengths) override;
  std::unique_ptr<DecoderState> encode(const IndexTensor& source, const Lengths& source_lengths) override;
  DecodeStep step(DecoderState& state, const std::vector<std::int32_t>& tokens) override;
  std::int64_t target_vocab() const override { return target_vocab_; }

 private:
  struct Encoded {
    DecoderAttention::Memory memory;
    Recurrent::State initial;
  };
  Encoded run_encoder(const IndexTensor& source, const Lengths& lengths);
  Variable attentional(const Variable& h, const DecoderAttention::Memory& memory, Variable* weights) const;

  ModelConfig config_;
  std::int64_t target_vocab_;
  std::shared_ptr<Embedding> src_embed_, tgt_embed_;
  std::shared_ptr<Recurrent> encoder_, decoder_;
  std::shared_ptr<Dense> encoder_proj_, bridge_, combine_, output_;
  std::vector<std::shared_ptr<SequenceLayer>> extra_, decoder_extra_;
  std::shared_ptr<DecoderAttention> attention_;
  std::shared_ptr<Dropout> dropout_;
};

}  // namespace xseq
