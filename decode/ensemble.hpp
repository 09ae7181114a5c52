// Ensembles: several checkpoints of models with one tokenizer and the same
// vocabularies decode together, each step scoring the next token by the
// average of the members' log-probabilities (as Marian does, equal weights).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/seq2seq.hpp"
#include "decode/trained_model.hpp"

namespace xseq {

/// A Seq2SeqModel over member models: encode() encodes with every member,
/// step() returns the mean of their log-probabilities (not renormalised, like
/// Marian) with the first member's attention, select() reorders every member's
/// state. logits() is the mean of the members' log-softmaxes, so a teacher-forced
/// loss (cross_entropy renormalises it) is the ensemble's.
class EnsembleModel : public Seq2SeqModel {
 public:
  /// At least two members, all with the same target vocabulary size; the
  /// ensemble (every member) takes the first member's train/eval mode.
  explicit EnsembleModel(std::vector<std::shared_ptr<Seq2SeqModel>> members);

  Variable logits(const IndexTensor& source, const Lengths& source_lengths, const IndexTensor& decoder_input,
                  const Lengths& target_lengths) override;
  std::unique_ptr<DecoderState> encode(const IndexTensor& source, const Lengths& source_lengths) override;
  DecodeStep step(DecoderState& state, const std::vector<std::int32_t>& tokens) override;
  std::int64_t target_vocab() const override { return members_[0]->target_vocab(); }
  const std::vector<std::shared_ptr<Seq2SeqModel>>& members() const { return members_; }
  /// Every member's int8_parameters().
  std::vector<NamedParameter> int8_parameters() const override;

 private:
  std::vector<std::shared_ptr<Seq2SeqModel>> members_;
};

/// One checkpoint: exactly load_trained_model (no wrapper). Several: their
/// models as an EnsembleModel, with the first one's config, text pipeline and
/// inference precision (int8 when the first is quantised).
/// Every checkpoint must have the first one's tokenizer and vocabularies, else an
/// Error naming both checkpoints and what differs.
TrainedModel load_ensemble(const std::vector<std::string>& checkpoints);

}  // namespace xseq
