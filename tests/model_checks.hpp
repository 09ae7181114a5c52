// Checks shared by the model tests and the plugin tests: a tiny config, logits
// at valid positions, and step-by-step decoding against teacher forcing.
#pragma once

#include "helpers.hpp"
#include "models/seq2seq.hpp"

namespace xseq::test {
inline ModelConfig tiny(const std::string& type) {
  ModelConfig c;
  c.type = type;
  c.d_model = 16;
  c.heads = 2;
  c.ff_dim = 24;
  c.encoder_layers = c.decoder_layers = 1;
  c.dropout = 0.0f;
  c.embed_dim = 8;
  c.hidden = 12;
  c.activation = "gelu";  // smooth: finite differences never straddle a relu kink
  return c;
}
inline const IndexTensor kSource({2, 4}, {5, 6, 7, 8, 9, 5, 0, 0});
inline const Lengths kSourceLengths{4, 2};
inline const IndexTensor kDecoderInput({2, 3}, {2, 6, 7, 2, 8, 0});
inline const Lengths kTargetLengths{3, 2};

// Logits at valid target positions only (the padded decoder input is <pad>,
// whose embedding row deliberately gets no gradient).
inline Variable valid_logits(Seq2SeqModel& model) {
  return model.logits(kSource, kSourceLengths, kDecoderInput, kTargetLengths) *
         Variable(valid_positions(kTargetLengths, 3));
}

// Teacher-forced log-probabilities vs feeding the same tokens one at a time.
inline void require_incremental_matches(Seq2SeqModel& model) {
  NoGradGuard no_grad;
  model.eval();
  const Variable full = log_softmax(model.logits(kSource, kSourceLengths, kDecoderInput, kTargetLengths));
  auto state = model.encode(kSource, kSourceLengths);
  for (std::int64_t t = 0; t < 3; ++t) {
    std::vector<std::int32_t> tokens{kDecoderInput.data[static_cast<std::size_t>(t)],
                                      kDecoderInput.data[static_cast<std::size_t>(3 + t)]};
    const DecodeStep step = model.step(*state, tokens);
    for (std::int64_t b = 0; b < 2; ++b) {
      if (t >= kTargetLengths[static_cast<std::size_t>(b)]) continue;
      for (std::int64_t v = 0; v < model.target_vocab(); ++v)
        REQUIRE(step.log_probs.value().at({b, v}) == Approx(full.value().at({b, t, v})).margin(1e-5));
    }
    CHECK(step.attention.value().at({1, 3}) == 0.0f);  // padded source position
  }
  // select() keeps and reorders rows: row 1 alone continues like row 1 did.
  auto again = model.encode(kSource, kSourceLengths);
  model.step(*again, {2, 2});
  again->select({1});
  const DecodeStep one = model.step(*again, {8});
  CHECK(one.log_probs.value().at({0, 4}) == Approx(full.value().at({1, 1, 4})).margin(1e-5));
}

}  // namespace xseq::test
