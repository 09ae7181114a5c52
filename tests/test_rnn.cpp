// Recurrent cells and layers: gradients, lengths, bidirectional alignment.
#include "helpers.hpp"

using namespace xseq;
using test::param;
using test::require_gradients_match;
using test::uniform;
using test::with_params;

TEST_CASE("GRUCell and LSTMCell: PyTorch's equations and gradients", "[rnn][gradcheck]") {
  Rng rng(41);
  GRUCell gru(3, 4, rng);
  const Variable x = param(uniform({2, 3}, rng)), h = param(uniform({2, 4}, rng));
  // One unit by hand: h' = (1 - z) n + z h.
  const Tensor Wi = gru.parameter("weight_ih").value(), Wh = gru.parameter("weight_hh").value();
  const Tensor bi = gru.parameter("bias_ih").value(), bh = gru.parameter("bias_hh").value();
  auto gate = [&](int g, int unit, bool input_part) {
    const int row = g * 4 + unit;
    double s = input_part ? bi.data()[row] : bh.data()[row];
    if (input_part) for (int j = 0; j < 3; ++j) s += Wi.at({row, j}) * x.value().at({1, j});
    else for (int j = 0; j < 4; ++j) s += Wh.at({row, j}) * h.value().at({1, j});
    return s;
  };
  const int u = 2;
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  const double r = sig(gate(0, u, true) + gate(0, u, false)), z = sig(gate(1, u, true) + gate(1, u, false));
  const double n = std::tanh(gate(2, u, true) + r * gate(2, u, false));
  // The terms are at most 1 in magnitude (gates in (0, 1), tanh and h in (-1, 1)):
  // the rounding of the 3 + 4 products per gate bounds the absolute error.
  CHECK(gru.forward(x, h).value().at({1, u}) ==
        Approx((1 - z) * n + z * h.value().at({1, u})).epsilon(1e-5).margin(xseq::test::rounding_floor(2.0, 8)));
  require_gradients_match([&] { return gru.forward(x, h); }, with_params({x, h}, gru));

  LSTMCell lstm(3, 4, rng);
  const Variable c = param(uniform({2, 4}, rng));
  require_gradients_match([&] { return lstm.forward(x, {h, c}).h; }, with_params({x, h, c}, lstm));
  require_gradients_match([&] { return lstm.forward(x, {h, c}).c; }, with_params({x, h, c}, lstm));
  CHECK_THROWS_WITH(gru.forward(x, Variable(Tensor::ones({2, 5}))), Catch::Contains("must be (batch, 4)"));
  CHECK_THROWS_WITH(parse_cell("rnn"), Catch::Contains("unknown recurrent cell 'rnn'"));
}

// The fused op against the GRU equations written with primitive ops.
TEST_CASE("gru_sequence: matches the unfused equations and its gradients check", "[rnn][gradcheck]") {
  Rng rng(44);
  const std::int64_t B = 3, T = 5, H = 4;
  const Variable gi = param(uniform({B, T, 3 * H}, rng)), h0 = param(uniform({B, H}, rng));
  const Variable w = param(uniform({3 * H, H}, rng)), bias = param(uniform({3 * H}, rng));
  const Lengths lengths{5, 2, 3};
  for (const bool reverse : {false, true}) {
    DYNAMIC_SECTION((reverse ? "reverse" : "forward")) {
      const GRUSequence fused = gru_sequence(gi, h0, w, bias, lengths, reverse);
      REQUIRE(fused.output.shape() == Shape({B, T, H}));
      REQUIRE(fused.h_last.shape() == Shape({B, H}));
      for (std::int64_t b = 0; b < B; ++b) {
        // Row b alone, step by step, for its own length.
        Variable h = narrow(h0, 0, b, 1);
        const std::int64_t n = lengths[static_cast<std::size_t>(b)];
        for (std::int64_t s = 0; s < n; ++s) {
          const std::int64_t t = reverse ? n - 1 - s : s;
          const auto i = split(reshape(narrow(narrow(gi, 0, b, 1), 1, t, 1), {1, 3 * H}), {H, H, H}, 1);
          const auto g = split(matmul(h, w, false, true) + bias, {H, H, H}, 1);
          const Variable r = sigmoid(i[0] + g[0]), z = sigmoid(i[1] + g[1]);
          const Variable cand = tanh(i[2] + r * g[2]);
          h = (1.0f - z) * cand + z * h;
          for (std::int64_t j = 0; j < H; ++j)
            CHECK(fused.output.value().at({b, t, j}) == Approx(h.value().at({0, j})).margin(1e-6));
        }
        for (std::int64_t t = n; t < T; ++t)
          for (std::int64_t j = 0; j < H; ++j) CHECK(fused.output.value().at({b, t, j}) == 0.0f);
        for (std::int64_t j = 0; j < H; ++j)
          CHECK(fused.h_last.value().at({b, j}) == Approx(h.value().at({0, j})).margin(1e-6));
      }
      require_gradients_match([&] { return gru_sequence(gi, h0, w, bias, lengths, reverse).output; },
                              {gi, h0, w, bias});
      require_gradients_match([&] { return gru_sequence(gi, h0, w, bias, lengths, reverse).h_last; },
                              {gi, h0, w, bias});
    }
  }
  CHECK_THROWS_WITH(gru_sequence(gi, h0, w, bias, Lengths{5, 2}, false), Catch::Contains("2 lengths for a batch of 3"));
  CHECK_THROWS_WITH(gru_sequence(narrow(gi, 2, 0, H), h0, w, bias, lengths, false),
                    Catch::Contains("must be (batch 3, time, 12)"));
}

TEST_CASE("lstm_sequence: matches the unfused equations and its gradients check", "[rnn][gradcheck]") {
  Rng rng(45);
  const std::int64_t B = 3, T = 4, H = 3;
  const Variable gi = param(uniform({B, T, 4 * H}, rng)), h0 = param(uniform({B, H}, rng));
  const Variable c0 = param(uniform({B, H}, rng));
  const Variable w = param(uniform({4 * H, H}, rng)), bias = param(uniform({4 * H}, rng));
  const Lengths lengths{4, 1, 3};
  for (const bool reverse : {false, true}) {
    DYNAMIC_SECTION((reverse ? "reverse" : "forward")) {
      const LSTMSequence fused = lstm_sequence(gi, h0, c0, w, bias, lengths, reverse);
      for (std::int64_t b = 0; b < B; ++b) {
        Variable h = narrow(h0, 0, b, 1), c = narrow(c0, 0, b, 1);
        const std::int64_t n = lengths[static_cast<std::size_t>(b)];
        for (std::int64_t s = 0; s < n; ++s) {
          const std::int64_t t = reverse ? n - 1 - s : s;
          const auto a = split(reshape(narrow(narrow(gi, 0, b, 1), 1, t, 1), {1, 4 * H}) +
                                   matmul(h, w, false, true) + bias, {H, H, H, H}, 1);
          c = sigmoid(a[1]) * c + sigmoid(a[0]) * tanh(a[2]);
          h = sigmoid(a[3]) * tanh(c);
          for (std::int64_t j = 0; j < H; ++j)
            CHECK(fused.output.value().at({b, t, j}) == Approx(h.value().at({0, j})).margin(1e-6));
        }
        for (std::int64_t t = n; t < T; ++t)
          for (std::int64_t j = 0; j < H; ++j) CHECK(fused.output.value().at({b, t, j}) == 0.0f);
        for (std::int64_t j = 0; j < H; ++j) {
          CHECK(fused.h_last.value().at({b, j}) == Approx(h.value().at({0, j})).margin(1e-6));
          CHECK(fused.c_last.value().at({b, j}) == Approx(c.value().at({0, j})).margin(1e-6));
        }
      }
      const std::vector<Variable> wrt{gi, h0, c0, w, bias};
      require_gradients_match([&] { return lstm_sequence(gi, h0, c0, w, bias, lengths, reverse).output; }, wrt);
      require_gradients_match([&] { return lstm_sequence(gi, h0, c0, w, bias, lengths, reverse).h_last; }, wrt);
      require_gradients_match([&] { return lstm_sequence(gi, h0, c0, w, bias, lengths, reverse).c_last; }, wrt);
    }
  }
  CHECK_THROWS_WITH(lstm_sequence(gi, h0, narrow(c0, 1, 0, 2), w, bias, lengths, false),
                    Catch::Contains("initial states h (3, 3) and c (3, 2) must both be (batch, hidden)"));
}

TEST_CASE("Recurrent: gradients through a padded, bidirectional, 2-layer stack", "[rnn][gradcheck]") {
  Rng rng(42);
  for (const CellType cell : {CellType::gru, CellType::lstm}) {
    DYNAMIC_SECTION((cell == CellType::gru ? "gru" : "lstm")) {
      Recurrent rnn(3, 4, rng, Recurrent::Options{cell, 2, true, 0.0f});
      CHECK(rnn.parameter("layers.1.backward.weight_ih").shape() ==
            Shape({(cell == CellType::gru ? 3 : 4) * 4, 8}));
      const Variable x = param(uniform({3, 4, 3}, rng));
      const Lengths lengths{4, 2, 1};
      require_gradients_match([&] { return rnn.forward(x, lengths).output; }, with_params({x}, rnn),
                              GradCheckOptions{});
      require_gradients_match([&] { return stack(rnn.forward(x, lengths).h_last, 0); }, with_params({x}, rnn));
    }
  }
}

TEST_CASE("Recurrent: lengths are respected in both directions", "[rnn]") {
  Rng rng(43);
  Recurrent rnn(3, 5, rng, Recurrent::Options{CellType::gru, 1, true, 0.0f});
  const Tensor x = uniform({2, 6, 3}, rng);
  const Lengths lengths{6, 3};
  const Recurrent::Result batch = rnn.forward(Variable(x), lengths);
  // Sequence 1 alone, unpadded: the same outputs, and zeros past its end in the batch.
  Tensor alone({1, 3, 3});
  std::copy_n(x.data() + 18, 9, alone.data());
  const Recurrent::Result single = rnn.forward(Variable(alone), {3});
  for (std::int64_t t = 0; t < 3; ++t)
    for (std::int64_t d = 0; d < 10; ++d)
      CHECK(batch.output.value().at({1, t, d}) == Approx(single.output.value().at({0, t, d})).margin(1e-6));
  for (std::int64_t t = 3; t < 6; ++t)
    for (std::int64_t d = 0; d < 10; ++d) CHECK(batch.output.value().at({1, t, d}) == 0.0f);
  // The backward direction starts at step 2 for sequence 1: its state after
  // one step is the output at step 2 and equals one cell step from zero.
  GRUCell& backward_cell = dynamic_cast<GRUCell&>(*rnn.children()[1].second);
  Tensor x2({1, 3});
  std::copy_n(x.data() + 18 + 6, 3, x2.data());
  const Variable first = backward_cell.forward(Variable(x2), Variable(Tensor::zeros({1, 5})));
  for (std::int64_t d = 0; d < 5; ++d)
    CHECK(batch.output.value().at({1, 2, 5 + d}) == Approx(first.value().at({0, d})).margin(1e-6));
  // Final states: forward = output at the last valid step, backward = output at step 0.
  for (std::int64_t d = 0; d < 5; ++d) {
    CHECK(batch.h_last[0].value().at({1, d}) == batch.output.value().at({1, 2, d}));
    CHECK(batch.h_last[1].value().at({1, d}) == batch.output.value().at({1, 0, 5 + d}));
  }
  CHECK_THROWS_WITH(rnn.forward(Variable(x), {6, 7}), Catch::Contains("lengths[1] = 7 must be in [1, 6]"));
}
