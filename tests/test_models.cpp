// Seq2seq models: gradients, step-by-step decoding equals teacher forcing,
// the registry.
#include "helpers.hpp"
#include "models/seq2seq.hpp"

using namespace xseq;

namespace {
ModelConfig tiny(const std::string& type) {
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
const IndexTensor kSource({2, 4}, {5, 6, 7, 8, 9, 5, 0, 0});
const Lengths kSourceLengths{4, 2};
const IndexTensor kDecoderInput({2, 3}, {2, 6, 7, 2, 8, 0});
const Lengths kTargetLengths{3, 2};

// Logits at valid target positions only (the padded decoder input is <pad>,
// whose embedding row deliberately gets no gradient).
Variable valid_logits(Seq2SeqModel& model) {
  return model.logits(kSource, kSourceLengths, kDecoderInput, kTargetLengths) *
         Variable(valid_positions(kTargetLengths, 3));
}

// Teacher-forced log-probabilities vs feeding the same tokens one at a time.
void require_incremental_matches(Seq2SeqModel& model) {
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
}  // namespace

TEST_CASE("transformer model: gradients and incremental decoding", "[models][gradcheck]") {
  for (const bool tie : {true, false}) {
    DYNAMIC_SECTION((tie ? "tied output" : "separate output")) {
      ModelConfig c = tiny("transformer");
      c.tie_output = tie;
      c.positions = tie ? "sinusoidal" : "learned";
      Rng rng(5);
      auto model = make_model(c, 10, 11, rng);
      GradCheckOptions o;
      o.max_elements = 12;
      test::require_gradients_match(
          [&] { return valid_logits(*model); }, model->parameters(), o);
      require_incremental_matches(*model);
    }
  }
}

TEST_CASE("rnn_attention model: every attention, GRU/LSTM, input feeding", "[models][gradcheck][rnn]") {
  for (const char* attention : {"seed", "dot", "general", "concat", "additive"}) {
    for (const bool feeding : {false, true}) {
      DYNAMIC_SECTION(attention << (feeding ? " + input feeding" : "")) {
        ModelConfig c = tiny("rnn_attention");
        c.attention = attention;
        c.input_feeding = feeding;
        c.cell = feeding ? "lstm" : "gru";
        c.bidirectional = std::string(attention) != "dot";
        Rng rng(6);
        auto model = make_model(c, 10, 11, rng);
        GradCheckOptions o;
        o.max_elements = 6;
        // The seed layer's relu(W1 c) has a kink; a smaller step keeps the
        // differences on one side of it (float32 noise stays under atol).
        if (std::string(attention) == "seed") o.step = 1e-3f;
        test::require_gradients_match(
            [&] { return valid_logits(*model); }, model->parameters(), o);
        require_incremental_matches(*model);
      }
    }
  }
}

TEST_CASE("model registry: user models by name; unknown types listed", "[models]") {
  register_model("test_transformer_alias", [](const ModelConfig& c, std::int64_t sv, std::int64_t tv, Rng& rng) {
    ModelConfig inner = c;
    inner.type = "transformer";
    return make_model(inner, sv, tv, rng);
  });
  Rng rng(1);
  CHECK(make_model(tiny("test_transformer_alias"), 10, 10, rng)->target_vocab() == 10);
  CHECK_THROWS_WITH(make_model(tiny("lstm_seq2seq"), 10, 10, rng),
                    Catch::Contains("unknown model type 'lstm_seq2seq'") && Catch::Contains("rnn_attention, test_transformer_alias, transformer"));
}
