// Plugins (framework/plugin.hpp): loading, refusal (version, no descriptor, the
// loader's own error, clashing names), XSEQ_PLUGIN_PATH, the extension points a
// plugin reaches (encoder and decoder layers, an RNN attention score, a model type
// with [model.options]) and the stock CLI training, translating and checking a
// plugin's layers, including the error when a checkpoint's plugin is missing.
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "framework/plugin.hpp"
#include "framework/version.hpp"
#include "helpers.hpp"
#include "model_checks.hpp"
#include "process.hpp"
#include "tiny_config.hpp"
#include "config/config.hpp"

using namespace xseq;
using xseq::test::run_cli;
using xseq::test::run_xseq;
namespace fs = std::filesystem;

namespace {

std::string plugin_file(const std::string& target) { return std::string(XSEQ_TEST_PLUGIN_DIR) + "/lib" + target + ".so"; }
const std::string kPlugin = plugin_file("xseq_test_plugin");

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

// Sets an environment variable for the scope (children inherit it).
struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) { ::setenv(name.c_str(), value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

void write_file(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

}  // namespace

TEST_CASE("plugins: load once, register every kind of name, record what a model needs", "[plugin]") {
  const PluginInfo& info = load_plugin(kPlugin);
  CHECK(info.path == fs::canonical(kPlugin).string());
  CHECK(info.file_name == "libxseq_test_plugin.so");
  CHECK(info.version == XSEQ_VERSION_STRING);
  for (const RegisteredName& n : std::vector<RegisteredName>{{"layer type", "test_glu"},
                                                             {"layer type", "test_prev_mix"},
                                                             {"decoder attention", "test_scaled_dot"},
                                                             {"model type", "test_wrapped_model"}}) {
    CHECK(is_registered(n));
    REQUIRE(plugin_providing(n) != nullptr);
    CHECK(plugin_providing(n)->path == info.path);
  }
  CHECK(&load_plugin(kPlugin) == &info);  // idempotent
  CHECK(plugin_providing({"layer type", "transformer_encoder_layer"}) == nullptr);
  // A manifest lists the plugin once, with the names the model uses and nothing else.
  const std::string manifest = plugin_manifest({{"layer type", "test_glu"}, {"model type", "transformer"}});
  CHECK(manifest == info.path + "\tlibxseq_test_plugin.so\tlayer type=test_glu\n");
  CHECK(plugin_manifest({{"model type", "transformer"}}).empty());
  CHECK_NOTHROW(load_manifest_plugins(manifest, "x.h5"));
}

TEST_CASE("plugins: refused with the reason, never loaded into a crash", "[plugin]") {
  load_plugin(kPlugin);
  // Another version: both versions named, nothing of it registered.
  const std::string old = error_of([] { load_plugin(plugin_file("xseq_test_plugin_old")); });
  CHECK_THAT(old, Catch::Contains("was built against xseq 0.0.1") &&
                      Catch::Contains(std::string("but this is xseq ") + XSEQ_VERSION_STRING) &&
                      Catch::Contains("rebuild the plugin"));
  CHECK_FALSE(is_registered({"layer type", "test_small_identity"}));
  // No descriptor: a plain add_library(MODULE) points at the helper.
  CHECK_THAT(error_of([] { load_plugin(plugin_file("xseq_test_plugin_plain")); }),
             Catch::Contains("is not an xseq plugin") && Catch::Contains("xseq_add_plugin(NAME SOURCES ...)"));
  // The loader's own reason.
  CHECK_THAT(error_of([] { load_plugin(plugin_file("xseq_test_plugin_unresolved")); }),
             Catch::Contains("cannot load plugin") && Catch::Contains("undefined symbol") &&
                 Catch::Contains("xseq_test_symbol_nothing_defines"));
  write_file("not_a_library.so", "this is text, not ELF\n");
  CHECK_THAT(error_of([] { load_plugin("./not_a_library.so"); }), Catch::Contains("cannot load plugin") &&
                                                                      Catch::Contains("not_a_library.so: "));
  // A name another plugin registered: the whole plugin is refused.
  CHECK_THAT(error_of([] { load_plugin(plugin_file("xseq_test_plugin_clash")); }),
             Catch::Contains("registers layer type 'test_glu', which is already registered (by plugin '" +
                             fs::canonical(kPlugin).string() + "')"));
  CHECK_FALSE(is_registered({"layer type", "test_clash_first"}));
  // Not found: where it looked.
  const ScopedEnv env("XSEQ_PLUGIN_PATH", "/nonexistent/a:/nonexistent/b");
  CHECK_THAT(error_of([] { load_plugin("libnothing.so"); }),
             Catch::Contains("plugin 'libnothing.so' not found (looked in XSEQ_PLUGIN_PATH=\"/nonexistent/a:/nonexistent/b\""));
  CHECK_THAT(error_of([] { load_plugin("./missing/libnothing.so"); }), Catch::Contains("not found"));
}

TEST_CASE("plugins: XSEQ_PLUGIN_PATH finds a bare file name", "[plugin]") {
  {
    const ScopedEnv env("XSEQ_PLUGIN_PATH", std::string("/nonexistent:") + XSEQ_TEST_PLUGIN_DIR);
    CHECK(find_plugin_file("libxseq_test_plugin.so") == std::string(XSEQ_TEST_PLUGIN_DIR) + "/libxseq_test_plugin.so");
  }
  CHECK(find_plugin_file("libxseq_test_plugin.so").empty());  // never the current directory implicitly
  CHECK(read_plugin_descriptor(kPlugin).find(std::string("version=") + XSEQ_VERSION_STRING) != std::string::npos);
  CHECK(read_plugin_descriptor(plugin_file("xseq_test_plugin_plain")).empty());
}

TEST_CASE("plugins: decoder layers (position-wise and causal) decode step by step like teacher forcing",
          "[plugin][models][gradcheck]") {
  load_plugin(kPlugin);
  for (const char* type : {"transformer", "rnn_attention"}) {
    DYNAMIC_SECTION(type) {
      ModelConfig c = test::tiny(type);
      LayerArgs glu, prev;
      glu.type = "test_glu";
      glu.options["gate_bias"] = -0.5;
      prev.type = "test_prev_mix";
      c.encoder_extra = {glu};
      c.decoder_extra = {prev, glu};
      Rng rng(9);
      auto model = make_model(c, 10, 11, rng);
      CHECK(model->parameter("decoder_extra.0.mix.weight").shape() ==
            Shape({c.type == "transformer" ? c.d_model : c.hidden, c.type == "transformer" ? c.d_model : c.hidden}));
      CHECK_NOTHROW(model->parameter("decoder_extra.1.gate.bias"));
      CHECK_NOTHROW(model->parameter("encoder_extra.0.value.weight"));
      GradCheckOptions o;
      o.max_elements = 6;
      test::require_gradients_match([&] { return test::valid_logits(*model); }, model->parameters(), o);
      test::require_incremental_matches(*model);
    }
  }
  // A bidirectional layer cannot go into the decoder.
  ModelConfig c = test::tiny("transformer");
  LayerArgs self_attention;
  self_attention.type = "transformer_encoder_layer";
  self_attention.options["heads"] = 2;
  c.decoder_extra = {self_attention};
  Rng rng(1);
  CHECK_THAT(error_of([&] { make_model(c, 10, 11, rng); }),
             Catch::Contains("model.decoder_extra[0]: layer 'transformer_encoder_layer' is bidirectional"));
}

TEST_CASE("plugins: a model type with [model.options], a custom RNN attention score", "[plugin][config]") {
  load_plugin(kPlugin);
  const std::string base = "[data]\ntask = \"copy\"\n[model]\ntype = \"test_wrapped_model\"\nd_model = 16\nheads = 2\n";
  Config cfg = parse_config(base + "[model.options]\ndepth = 2\npre_norm = false\n", "m.toml");
  CHECK(cfg.model.options.options.at("depth").number() == 2.0);
  Rng rng(2);
  auto model = make_model(cfg.model, 12, 12, rng);
  CHECK_NOTHROW(model->parameter("encoder.layers.1.self_attn.q.weight"));
  CHECK_THROWS(model->parameter("encoder.norm.weight"));  // pre_norm = false reached the factory
  // The options round-trip through the resolved config (what a checkpoint stores).
  CHECK(parse_config(cfg.to_toml(), "again").model.options.options == cfg.model.options.options);
  CHECK(parse_config(base, "m.toml", {"model.options.depth=1"}).model.options.options.at("depth").number() == 1.0);
  CHECK_THROWS_WITH(parse_config(base, "m.toml", {"model.options.a\xff=1"}), Catch::Contains("is not valid UTF-8"));
  // Option errors name the model type and the key.
  Config missing = parse_config(base, "m.toml");
  CHECK_THAT(error_of([&] { make_model(missing.model, 12, 12, rng); }),
             Catch::Contains("model type 'test_wrapped_model' ([model.options]): missing required option 'depth'"));
  Config typo = parse_config(base + "[model.options]\ndepth = 1\npre_nrom = true\n", "m.toml");
  CHECK_THAT(error_of([&] { make_model(typo.model, 12, 12, rng); }),
             Catch::Contains("unknown option 'pre_nrom' (did you mean 'pre_norm'?)"));
  Config builtin = parse_config("[data]\ntask = \"copy\"\n[model]\nd_model = 16\nheads = 2\n[model.options]\nx = 1\n", "b.toml");
  CHECK_THAT(error_of([&] { make_model(builtin.model, 12, 12, rng); }),
             Catch::Contains("model type 'transformer' ([model.options]): unknown option 'x' (it reads no options)"));
  // The custom attention score through the same registry as the built-in ones.
  Config rnn = parse_config("[data]\ntask = \"copy\"\n[model]\ntype = \"rnn_attention\"\nattention = \"test_scaled_dot\"\n"
                            "hidden = 12\nembed_dim = 8\nbidirectional = false\n",
                            "r.toml");
  auto rnn_model = make_model(rnn.model, 12, 12, rng);
  CHECK_NOTHROW(rnn_model->parameter("combine.weight"));
  CHECK_THAT(error_of([] { parse_config("[model]\ntype = \"no_such_model\"\n", "t.toml"); }),
             Catch::Contains("t.toml:2:8: model.type = \"no_such_model\" is not registered") &&
                 Catch::Contains("test_wrapped_model"));
}

TEST_CASE("plugins: the stock CLI trains, translates, evaluates and gradchecks a plugin's layers",
          "[plugin][cli][train]") {
  const std::string dir = "plugin_cli_run";
  fs::remove_all(dir);
  fs::create_directories(dir);
  // The config names the plugin (relative to the working directory, as every
  // path of a config) and uses it in the encoder, the decoder and as the RNN's
  // attention score.
  fs::copy_file(kPlugin, dir + "/libxseq_test_plugin.so");
  const std::string config = dir + "/plugin.toml";
  write_file(config, "plugins = [\"./" + dir + "/libxseq_test_plugin.so\"]\n" + test::kTinyCopyConfig +
                         "\n[[model.encoder_extra]]\ntype = \"test_glu\"\n\n[[model.decoder_extra]]\ntype = "
                         "\"test_prev_mix\"\n\n[[model.decoder_extra]]\ntype = \"test_glu\"\ngate_bias = -1.0\n");
  std::string out, err;
  const std::vector<std::string> shorter{"--set", "train.max_steps=20", "--set", "train.valid_every=20",
                                         "--set", "train.checkpoint_every=20"};
  std::vector<std::string> train{"train", config, "--out", dir + "/run", "--threads", "1"};
  train.insert(train.end(), shorter.begin(), shorter.end());
  REQUIRE(run_xseq(train, "", dir + "/train", &out, &err) == 0);
  const std::string ckpt = dir + "/run/best.h5";
  CHECK(run_xseq({"translate", "--checkpoint", ckpt, "--threads", "1"}, "abc\nfed\n", dir + "/tr", &out, &err) == 0);
  CHECK(std::count(out.begin(), out.end(), '\n') == 2);
  // The plugin moved away: the error names it and the layer type; XSEQ_PLUGIN_PATH finds it.
  fs::remove(dir + "/libxseq_test_plugin.so");
  CHECK(run_xseq({"translate", "--checkpoint", ckpt}, "abc\n", dir + "/missing", &out, &err) == 1);
  CHECK_THAT(err, Catch::Contains("needs plugin 'libxseq_test_plugin.so' for its layer type 'test_glu'") &&
                      Catch::Contains("XSEQ_PLUGIN_PATH"));
  {
    const ScopedEnv env("XSEQ_PLUGIN_PATH", XSEQ_TEST_PLUGIN_DIR);
    write_file(dir + "/test.tsv", "abc\tabc\nfed\tfed\n");
    CHECK(run_xseq({"eval", "--checkpoint", ckpt, "--data", dir + "/test.tsv", "--threads", "1"}, "", dir + "/eval",
                   &out, &err) == 0);
    CHECK_THAT(out, Catch::Contains("exact"));
  }
  CHECK(run_xseq({"translate", "--checkpoint", ckpt, "--plugin", kPlugin}, "abc\n", dir + "/flag", &out, &err) == 0);
  // RNN with the plugin's attention score, the plugin given on the command line.
  std::vector<std::string> rnn{"train", config, "--out", dir + "/rnn", "--threads", "1", "--plugin", kPlugin,
                               "--set", "model.type=rnn_attention", "--set", "model.attention=test_scaled_dot",
                               "--set", "model.bidirectional=false", "--set", "model.hidden=32",
                               "--set", "model.embed_dim=16"};
  rnn.insert(rnn.end(), shorter.begin(), shorter.end());
  CHECK(run_xseq(rnn, "", dir + "/rnn", &out, &err) == 0);
  // xseq gradcheck on the plugin's layers (and their time_mixing claims).
  CHECK(run_xseq({"gradcheck", "--plugin", kPlugin, "--layer", "test_glu", "--dim", "6"}, "", dir + "/gc1", &out, &err) == 0);
  CHECK_THAT(out, Catch::Contains("time_mixing position_wise") && Catch::Contains("all "));
  CHECK(run_xseq({"gradcheck", "--plugin", kPlugin, "--layer", "test_prev_mix", "--dim", "6"}, "", dir + "/gc2", &out, &err) == 0);
  CHECK_THAT(out, Catch::Contains("time_mixing causal"));
  // A plugin that is refused: exit 1 with the reason, before anything else runs.
  CHECK(run_xseq({"gradcheck", "--plugin", plugin_file("xseq_test_plugin_old"), "--layer", "test_glu"}, "", dir + "/old",
                 &out, &err) == 1);
  CHECK_THAT(err, Catch::Contains("was built against xseq 0.0.1"));
}
