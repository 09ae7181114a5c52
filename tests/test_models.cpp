// Seq2seq models: gradients, step-by-step decoding equals teacher forcing,
// the registry.
#include "helpers.hpp"
#include "model_checks.hpp"
#include "models/seq2seq.hpp"

using namespace xseq;

using test::tiny;
using test::valid_logits;
using test::require_incremental_matches;

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

TEST_CASE("model.source_eos: the encoder reads </s> after each source sentence", "[models]") {
  const SourceWithEos appended = append_source_eos(test::kSource, test::kSourceLengths);
  CHECK(appended.ids.shape == Shape{2, 5});
  CHECK(appended.ids.data == std::vector<std::int32_t>{5, 6, 7, 8, kSourceEosId, 9, 5, kSourceEosId, 0, 0});
  CHECK(appended.lengths == Lengths{5, 3});
  CHECK_THROWS_WITH(append_source_eos(test::kSource, {4}),
                    Catch::Contains("one length per row") && Catch::Contains("1 lengths"));
  CHECK_THROWS_WITH(append_source_eos(test::kSource, {5, 2}), Catch::Contains("source length 5 of row 0"));
  for (const char* type : {"transformer", "rnn_attention"}) {
    DYNAMIC_SECTION(type) {
      // The same weights with and without the flag: the flagged model on the
      // plain source must equal the plain model on the appended source.
      ModelConfig c = test::tiny(type);
      Rng rng_plain(7), rng_eos(7);
      auto plain = make_model(c, 10, 11, rng_plain);
      c.source_eos = true;
      auto with_eos = make_model(c, 10, 11, rng_eos);
      plain->eval();
      with_eos->eval();
      NoGradGuard no_grad;
      const Tensor expected =
          plain->logits(appended.ids, appended.lengths, test::kDecoderInput, test::kTargetLengths).value();
      const Tensor got =
          with_eos->logits(test::kSource, test::kSourceLengths, test::kDecoderInput, test::kTargetLengths).value();
      CHECK(max_abs_diff(expected, got) == 0.0f);
      require_incremental_matches(*with_eos);
    }
  }
}

TEST_CASE("model registry: user models by name, unknown types listed", "[models]") {
  register_model("test_transformer_alias", [](const ModelConfig& c, std::int64_t sv, std::int64_t tv, Rng& rng) {
    ModelConfig inner = c;
    inner.type = "transformer";
    return make_model(inner, sv, tv, rng);
  });
  Rng rng(1);
  CHECK(make_model(tiny("test_transformer_alias"), 10, 10, rng)->target_vocab() == 10);
  CHECK_THROWS_WITH(make_model(tiny("lstm_seq2seq"), 10, 10, rng),
                    Catch::Contains("unknown model type 'lstm_seq2seq'") && Catch::Contains("rnn_attention, ") &&
                        Catch::Contains("test_transformer_alias, ") && Catch::Contains("transformer"));
}
