#include "decode/ensemble.hpp"

#include "framework/ops.hpp"

namespace xseq {
namespace {

class EnsembleState : public DecoderState {
 public:
  std::vector<std::unique_ptr<DecoderState>> members;
  void select(const std::vector<std::int64_t>& rows) override {
    for (auto& m : members) m->select(rows);
  }
  std::int64_t batch() const override { return members[0]->batch(); }
};

// What of checkpoint `b`'s text pipeline differs from `a`'s ("" if nothing).
std::string pipeline_difference(const H5File& a, const H5File& b) {
  if (a.attribute("tokenizer") != b.attribute("tokenizer"))
    return "the tokenizers differ ('" + a.attribute("tokenizer") + "' and '" + b.attribute("tokenizer") + "')";
  if (a.attribute("tokenizer") == "sentencepiece" && stored_sentencepiece(a) != stored_sentencepiece(b))
    return "the sentencepiece models differ";
  if (a.read_string("vocab/src") != b.read_string("vocab/src")) return "the source vocabularies differ";
  if (a.read_string("vocab/tgt") != b.read_string("vocab/tgt")) return "the target vocabularies differ";
  return "";
}

}  // namespace

std::vector<NamedParameter> EnsembleModel::int8_parameters() const {
  std::vector<NamedParameter> out;
  for (const auto& m : members_)
    for (NamedParameter& p : m->int8_parameters()) out.push_back(std::move(p));
  return out;
}

EnsembleModel::EnsembleModel(std::vector<std::shared_ptr<Seq2SeqModel>> members) : members_(std::move(members)) {
  XSEQ_CHECK(members_.size() >= 2, "an ensemble needs at least two models, got ", members_.size());
  const bool training = members_[0]->training();  // registering a child sets it to our mode
  for (std::size_t k = 0; k < members_.size(); ++k) {
    XSEQ_CHECK(members_[k]->target_vocab() == members_[0]->target_vocab(), "ensemble member ", k, " has ",
               members_[k]->target_vocab(), " target tokens, member 0 has ", members_[0]->target_vocab());
    register_module("member" + std::to_string(k), members_[k]);
  }
  train(training);
}

Variable EnsembleModel::logits(const IndexTensor& source, const Lengths& source_lengths,
                               const IndexTensor& decoder_input, const Lengths& target_lengths) {
  Variable sum;
  for (auto& m : members_) {
    const Variable lp = log_softmax(m->logits(source, source_lengths, decoder_input, target_lengths));
    sum = sum.defined() ? add(sum, lp) : lp;
  }
  return mul_scalar(sum, 1.0f / static_cast<float>(members_.size()));
}

std::unique_ptr<DecoderState> EnsembleModel::encode(const IndexTensor& source, const Lengths& source_lengths) {
  auto state = std::make_unique<EnsembleState>();
  for (auto& m : members_) state->members.push_back(m->encode(source, source_lengths));
  return state;
}

DecodeStep EnsembleModel::step(DecoderState& state, const std::vector<std::int32_t>& tokens) {
  auto* s = dynamic_cast<EnsembleState*>(&state);
  XSEQ_CHECK(s != nullptr, "EnsembleModel::step: the state was not made by EnsembleModel::encode");
  // The ensemble's attention is its first member's; the others never compute any.
  for (std::size_t k = 0; k < s->members.size(); ++k) s->members[k]->keep_attention = k == 0 && s->keep_attention;
  DecodeStep out = members_[0]->step(*s->members[0], tokens);
  Tensor sum = out.log_probs.value().clone();  // (B, V)
  float* acc = sum.data();
  for (std::size_t k = 1; k < members_.size(); ++k) {
    const Tensor lp = members_[k]->step(*s->members[k], tokens).log_probs.value();
    const float* x = lp.data();
    for (std::int64_t i = 0; i < sum.numel(); ++i) acc[i] += x[i];
  }
  const float scale = 1.0f / static_cast<float>(members_.size());
  for (std::int64_t i = 0; i < sum.numel(); ++i) acc[i] *= scale;
  out.log_probs = Variable(sum);
  return out;
}

TrainedModel load_ensemble(const std::vector<std::string>& checkpoints) {
  XSEQ_CHECK(!checkpoints.empty(), "no checkpoint given");
  if (checkpoints.size() == 1) return load_trained_model(checkpoints[0]);
  const auto first = open_checkpoint(checkpoints[0]);
  for (std::size_t k = 1; k < checkpoints.size(); ++k) {
    const std::string difference = pipeline_difference(*first, *open_checkpoint(checkpoints[k]));
    XSEQ_CHECK(difference.empty(), "cannot ensemble '", checkpoints[k], "' with '", checkpoints[0], "': ", difference,
               " (an ensemble needs one tokenizer and the same vocabularies)");
  }
  TrainedModel out = load_trained_model(checkpoints[0]);
  std::vector<std::shared_ptr<Seq2SeqModel>> members{out.model};
  for (std::size_t k = 1; k < checkpoints.size(); ++k) members.push_back(load_trained_model(checkpoints[k]).model);
  const Precision precision = members[0]->inference_precision();  // int8 when the first is quantised
  out.model = std::make_shared<EnsembleModel>(std::move(members));
  out.model->set_inference_precision(precision);
  out.model->eval();
  return out;
}

}  // namespace xseq
