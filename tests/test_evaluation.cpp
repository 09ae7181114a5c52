// Evaluation metrics and the eval/translate commands' errors.
#include <cstdio>

#include "helpers.hpp"
#include "models/flops.hpp"
#include "cli/cli.hpp"
#include "eval/attention_svg.hpp"
#include "eval/evaluation.hpp"
#include "eval/report.hpp"
#include "train/averaging.hpp"

using namespace xseq;

TEST_CASE("edit distance over token ids", "[eval]") {
  CHECK(edit_distance({}, {}) == 0);
  CHECK(edit_distance({1, 2, 3}, {1, 2, 3}) == 0);
  CHECK(edit_distance({1, 2, 3}, {1, 3}) == 1);        // one deletion
  CHECK(edit_distance({1, 2}, {2, 1}) == 2);           // no transpositions
  CHECK(edit_distance({}, {4, 5, 6}) == 3);
  CHECK(edit_distance({7, 8, 9, 10}, {7, 0, 9}) == 2);  // substitution + deletion
}

TEST_CASE("eval and translate: a missing checkpoint or file is a clear error", "[eval]") {
  auto run = [](std::vector<std::string> words) {
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    return cli::run(static_cast<int>(argv.size()), argv.data());
  };
  CHECK(run({"xseq", "eval", "--checkpoint", "no/such.h5", "--data", "x.tsv"}) == 1);
  CHECK(run({"xseq", "eval", "--data", "x.tsv"}) == 2);  // a command-line error: --checkpoint is required
  CHECK(run({"xseq", "translate", "--checkpoint", "no/such.h5"}) == 1);
  CHECK(run({"xseq", "translate", "--help"}) == 0);
  CHECK(run({"xseq", "frobnicate"}) == 2);
}

TEST_CASE("attention matrices as JSON lines and SVG heatmaps", "[eval]") {
  const std::vector<std::string> source{"a", "<b>", " "}, output{"x\"", "</s>"};
  const std::vector<std::vector<float>> rows{{0.5f, 0.25f, 0.25f}, {0.0f, 1.0f, 0.0f}};
  CHECK(attention_json(source, output, rows) ==
        "{\"source\":[\"a\",\"<b>\",\" \"],\"output\":[\"x\\\"\",\"</s>\"],"
        "\"attention\":[[0.5,0.25,0.25],[0.0,1.0,0.0]]}");
  const std::string svg = attention_svg(source, output, rows, "t & u");
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("&lt;b&gt;") != std::string::npos);   // labels are escaped
  CHECK(svg.find("t &amp; u") != std::string::npos);
  CHECK(svg.find("#08306b") != std::string::npos);     // weight 1: the darkest shade
  std::size_t cells = 0;
  for (std::size_t pos = 0; (pos = svg.find("<rect x=", pos)) != std::string::npos; ++pos) ++cells;
  CHECK(cells == 6);
  CHECK(json_string("a\tb\x01") == "\"a\\tb\\u0001\"");
}

TEST_CASE("report pieces: log lines and line charts", "[eval]") {
  const auto m = parse_log_line("{\"step\": 50, \"epoch\": 0, \"loss\": 2.5, \"lr\": 1e-3, \"valid\": true, "
                                "\"checkpoint\": \"best.h5\", \"bleu\": null}");
  CHECK(m.at("step") == 50);
  CHECK(m.at("loss") == 2.5);
  CHECK(m.at("lr") == Approx(1e-3));
  CHECK(m.at("valid") == 1);
  CHECK(m.count("bleu") == 0);
  CHECK(m.count("checkpoint") == 0);
  const std::string svg = line_chart_svg("loss & more", {1, 2, 3}, {{"a", {3, 2, 1}}, {"b", {1, 1, 1}}});
  CHECK(svg.find("loss &amp; more") != std::string::npos);
  std::size_t lines = 0;
  for (std::size_t pos = 0; (pos = svg.find("<polyline", pos)) != std::string::npos; ++pos) ++lines;
  CHECK(lines == 2);
  CHECK(line_chart_svg("empty", {}, {{"a", {}}}) == "<p>empty: no data</p>");
}

TEST_CASE("xseq average: checkpoints of different models are a clear error", "[eval]") {
  auto save = [](const std::string& path, int d_model) {
    const Config c = parse_config("[data]\ntask = \"copy\"\n[model]\nd_model = " + std::to_string(d_model) +
                                      "\nheads = 2\nff_dim = 8\nencoder_layers = 1\ndecoder_layers = 1\n",
                                  "tiny.toml");
    TextPipeline p;
    p.tokenizer = make_tokenizer("char");
    p.source_vocab = p.target_vocab = Vocab(std::vector<std::string>{"a", "b"});
    Rng rng(1);
    auto model = make_model(c.model, p.source_vocab.size(), p.target_vocab.size(), rng);
    CheckpointExtras extras;
    p.save(extras);
    extras.attributes["config"] = c.to_toml();
    extras.attributes["step"] = "1";
    save_checkpoint(path, *model, nullptr, extras);
  };
  save("test_avg_a.h5", 8);
  save("test_avg_b.h5", 12);
  CHECK_THROWS_WITH(average_checkpoints({"test_avg_a.h5", "test_avg_b.h5"}, "test_avg_out.h5"),
                    Catch::Contains("'test_avg_b.h5' does not match 'test_avg_a.h5'") &&
                        Catch::Contains("has shape (6, 12) but the model's is (6, 8)"));
  CHECK_THROWS_WITH(average_checkpoints({"test_avg_a.h5"}, "test_avg_out.h5"), Catch::Contains("at least two"));
  average_checkpoints({"test_avg_a.h5", "test_avg_a.h5"}, "test_avg_out.h5");
  CHECK(open_checkpoint("test_avg_out.h5")->attribute("averaged_from") == "test_avg_a.h5 test_avg_a.h5");
  for (const char* f : {"test_avg_a.h5", "test_avg_b.h5", "test_avg_out.h5"}) std::remove(f);
}

TEST_CASE("per-head heatmaps: one grid cell per head, output token and source token", "[eval]") {
  const std::vector<std::vector<std::vector<float>>> heads(3, {{0.5f, 0.5f}, {1.0f, 0.0f}});
  const std::string svg = attention_heads_svg({"a", "b"}, {"x", "y"}, heads, "s");
  std::size_t cells = 0, svgs = 0;
  for (std::size_t pos = 0; (pos = svg.find("<rect x=", pos)) != std::string::npos; ++pos) ++cells;
  for (std::size_t pos = 0; (pos = svg.find("<svg", pos)) != std::string::npos; ++pos) ++svgs;
  CHECK(cells == 3 * 2 * 2);
  CHECK(svgs == 4);
  CHECK(svg.find("s, head 3") != std::string::npos);
}

TEST_CASE("bench: analytic FLOPs of a training step", "[bench]") {
  // transformer-small (issue #7): 23.22 GFLOP forward, x3 for a training step = 69.7.
  ModelConfig m;
  m.type = "transformer";
  m.d_model = 256;
  m.heads = 4;
  m.ff_dim = 1024;
  m.encoder_layers = m.decoder_layers = 3;
  CHECK(3 * forward_flops(m, 64, 64, 32, 32) / 1e9 == Approx(69.66).epsilon(1e-3));
  // One GRU layer each side, dot attention: by hand.
  ModelConfig g;
  g.type = "rnn_attention";
  g.embed_dim = 2;
  g.hidden = 3;
  g.encoder_layers = g.decoder_layers = 1;
  g.bidirectional = false;
  g.attention = "dot";
  const double B = 1, S = 2, T = 2, H = 3, E = 2, V = 5;
  const double expected = 2 * (2 * B * S * E * 3 * H + 2 * B * S * H * 3 * H)  // encoder and decoder GRU
                          + 2 * 2 * B * T * S * H + 2 * B * T * 2 * H * H + 2 * B * T * H * V;
  CHECK(forward_flops(g, 5, 1, 2, 2) == Approx(expected));
}
