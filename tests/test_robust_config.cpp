// Hostile config values: absurd sizes are refused by name before anything is
// allocated, any string survives the resolved-config round trip, numbers print
// in their shortest exact form, and the allocator refuses impossible sizes.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "framework/memory.hpp"
#include "helpers.hpp"
#include "cli/cli.hpp"
#include "config/config.hpp"

using namespace xseq;

namespace {

const char* kBase = "[data]\ntask = \"copy\"\n[model]\nd_model = 32\nheads = 2\n";

std::string temp_file(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("xseq_robust_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

// Runs `xseq args...` and returns what it printed on stdout.
std::string run_cli(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::fflush(stdout);
  std::FILE* capture = std::tmpfile();
  REQUIRE(capture != nullptr);
  const int saved = ::dup(STDOUT_FILENO);
  ::dup2(::fileno(capture), STDOUT_FILENO);
  const int rc = cli::run(static_cast<int>(argv.size()), argv.data());
  std::fflush(stdout);
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  std::rewind(capture);
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, capture)) > 0;) out.append(buffer, n);
  std::fclose(capture);
  CHECK(rc == 0);
  return out;
}

}  // namespace

TEST_CASE("robust config: sizes too large are refused by key, with the range", "[robust][config]") {
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {"model.d_model=1e9"}),
                    "--set model.d_model=1e9: model.d_model: expected an integer, got a float");
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {"model.d_model=1e17"}),
                    "--set model.d_model=1e17: model.d_model: expected an integer, got a float");
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {"model.d_model=1000000000"}),
                    "--set model.d_model=1000000000: model.d_model = 1000000000 is too large (at most 65536)");
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {"model.d_model=100000000000000000"}),
                    Catch::Contains("model.d_model = 100000000000000000 is too large (at most 65536)"));
  CHECK_THROWS_WITH(parse_config(std::string(kBase) + "encoder_layers = 1000000\n", "x.toml"),
                    "x.toml:6:18: model.encoder_layers = 1000000 is too large (at most 64)");
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {"train.threads=4294967297"}),
                    "--set train.threads=4294967297: train.threads = 4294967297 is too large (at most 1024)");
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {"train.threads=-1"}),
                    "--set train.threads=-1: train.threads = -1 is too small (at least 0)");
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {"train.batch_size=2.0"}),
                    "--set train.batch_size=2.0: train.batch_size: expected an integer, got a float");
  // An integer past int64 is no number TOML knows: the word is reported as a string, not wrapped.
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {"model.hidden=99999999999999999999"}),
                    Catch::Contains("model.hidden: expected an integer, got a string"));
  CHECK_THROWS_WITH(parse_config(std::string(kBase) + "hidden = 99999999999999999999\n", "x.toml"),
                    Catch::StartsWith("x.toml:6:"));
  // The limits themselves are accepted.
  const Config edge = parse_config(kBase, "x.toml", {"model.encoder_layers=64", "train.threads=1024"});
  CHECK(edge.model.encoder_layers == 64);
  CHECK(edge.train.threads == 1024);
  // More than one TOML value in a --set is not silently cut to the first.
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {"train.max_steps=5\nlr = 3"}),
                    Catch::Contains("train.max_steps: expected an integer, got a string"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("robust config: a model larger than the machine is refused before allocating", "[robust][config]") {
  const Config demo = parse_config(kBase, "x.toml");
  const MemoryEstimate small = estimate_model_memory(demo);
  CHECK(small.parameters > 0);
  CHECK(small.vocab == 1000);
  CHECK_NOTHROW(validate_resources(demo, std::int64_t(1) << 30));  // fits in 1 GiB

  // d_model 65536: tens of billions of parameters, whatever the machine.
  const Config big = parse_config(kBase, "big.toml", {"model.d_model=65536", "model.heads=16"});
  const MemoryEstimate e = estimate_model_memory(big);
  CHECK(e.parameters > 4.0 * 65536.0 * 65536.0 * 2);  // at least the attention projections
  CHECK(e.parameter_bytes == Approx(e.parameters * 4 * 4));  // values, gradients, two Adam moments
  CHECK_THROWS_WITH(validate_resources(big, std::int64_t(16) << 30),
                    Catch::StartsWith("big.toml: training this model needs about ") &&
                        Catch::Contains("model.d_model = 65536") &&
                        Catch::Contains("a vocabulary of 1000 (assumed: data.vocab_size = 0)") &&
                        Catch::Contains("this machine has 16.0 GiB of memory"));
  // An rnn_attention model too: the key names follow the type.
  const Config rnn = parse_config(kBase, "rnn.toml", {"model.type=rnn_attention", "model.hidden=65536",
                                                      "model.encoder_layers=64", "data.vocab_size=500"});
  CHECK_THROWS_WITH(validate_resources(rnn, std::int64_t(16) << 30),
                    Catch::Contains("model.hidden = 65536") && Catch::Contains("model.encoder_layers = 64") &&
                        Catch::Contains("a vocabulary of 500 (data.vocab_size)"));
  // load_config compares with this machine's memory (no machine holds 64 layers of width 65536).
  const std::string path = temp_file("big.toml", kBase);
  CHECK_THROWS_WITH(load_config(path, {"model.d_model=65536", "model.encoder_layers=64"}),
                    Catch::Contains("of memory") && Catch::Contains("model.encoder_layers = 64"));
  CHECK_NOTHROW(load_config(path));
  std::filesystem::remove(path);
}

TEST_CASE("robust config: the parameter estimate counts what the models build", "[robust][config]") {
  const std::vector<std::vector<std::string>> variants = {
      {},
      {"model.positions=learned", "model.max_positions=50", "model.tie_output=false", "model.norm_first=false"},
      {"model.share_embeddings=true", "model.ff_dim=24", "model.encoder_layers=3"},
      {"model.type=rnn_attention", "model.embed_dim=12", "model.hidden=20"},
      {"model.type=rnn_attention", "model.embed_dim=12", "model.hidden=20", "model.cell=lstm",
       "model.bidirectional=false", "model.input_feeding=true", "model.decoder_layers=3"},
      {"model.type=rnn_attention", "model.embed_dim=8", "model.hidden=16", "model.attention=seed"},
      {"model.type=rnn_attention", "model.embed_dim=8", "model.hidden=16", "model.attention=general"},
      {"model.type=rnn_attention", "model.embed_dim=8", "model.hidden=16", "model.attention=concat"},
      {"model.type=rnn_attention", "model.embed_dim=8", "model.hidden=16", "model.attention=additive"},
  };
  for (auto sets : variants) {
    sets.push_back("data.vocab_size=37");
    CAPTURE(sets);
    const Config c = parse_config(kBase, "x.toml", sets);
    Rng rng(3);
    const auto model = make_model(c.model, 37, 37, rng);
    double built = 0;
    for (const auto& p : model->parameters()) built += double(p.numel());
    CHECK(estimate_model_memory(c).parameters == built);
  }
}

TEST_CASE("robust config: every shipped config passes the memory check with room to spare", "[robust][config]") {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(std::string(XSEQ_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".toml") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const Config c = parse_config(text.str(), entry.path().string());
    const MemoryEstimate e = estimate_model_memory(c);
    INFO(entry.path().filename().string() << ": " << e.parameters << " parameters, " << e.parameter_bytes
                                          << " bytes with state, " << e.activation_bytes << " bytes of activations");
    CHECK(e.parameters > 0);
    CHECK_NOTHROW(validate_resources(c, std::int64_t(1) << 30));  // each fits in 1 GiB
  }
}

TEST_CASE("robust config: any string survives to_toml -> parse -> to_toml", "[robust][config]") {
  // Quotes, backslashes, multi-byte UTF-8 (2, 3 and 4 bytes), every control character and DEL.
  std::string tricky = "a\"b\\c'd \xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80 ";
  for (int c = 1; c < 0x20; ++c) tricky += char(c);
  tricky += '\x7f';
  Config c = parse_config(kBase, "x.toml");
  c.data.task_alphabet = tricky;
  c.train.out_dir = std::string("runs/\ttab\nnewline\0nul", 21);
  LayerArgs layer;
  layer.type = "test_scale";
  layer.options = {{"gate_bias", -1.5}, {"odd key\x01", 2.0}, {"tiny", 1e-300}, {"on", true}, {"name", tricky}};
  c.model.encoder_extra.push_back(layer);
  const std::string text = c.to_toml();
  CHECK(text.find('\x01') == std::string::npos);  // no raw control character in the stored text
  const Config again = parse_config(text, "resolved.toml");
  CHECK(again.data.task_alphabet == tricky);
  CHECK(again.train.out_dir == c.train.out_dir);
  REQUIRE(again.model.encoder_extra.size() == 1);
  CHECK(again.model.encoder_extra[0].options == c.model.encoder_extra[0].options);
  CHECK(again.to_toml() == text);

  // The same through --set (a bare word keeps its bytes).
  const Config set = parse_config(kBase, "x.toml", {std::string("data.task_alphabet=ab\x01\x1b[31m")});
  CHECK(set.data.task_alphabet == "ab\x01\x1b[31m");
  CHECK(parse_config(set.to_toml(), "again.toml").data.task_alphabet == set.data.task_alphabet);
  // A NUL could never be part of a token: refused by key.
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {"data.task_alphabet=\"ab\\u0000\""}),
                    Catch::Contains("data.task_alphabet holds a NUL byte"));
  // Bytes that are not UTF-8 could not be stored as TOML: refused by key.
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {std::string("data.task_alphabet=ab\xff")}),
                    Catch::EndsWith("data.task_alphabet is not valid UTF-8 text"));
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {std::string("data.task_alphabet=\xC0\xAF")}),  // overlong '/'
                    Catch::EndsWith("is not valid UTF-8 text"));
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {std::string("data.task_alphabet=\xED\xA0\x80")}),  // surrogate
                    Catch::EndsWith("is not valid UTF-8 text"));
}

TEST_CASE("robust config: numbers print in the shortest form that reads back exactly", "[robust][config]") {
  const Config c = parse_config(kBase, "x.toml", {"train.lr=3e-4", "train.clip_norm=1e9"});
  const std::string text = c.to_toml();
  CHECK(text.find("dropout = 0.1\n") != std::string::npos);
  CHECK(text.find("lr = 0.0003\n") != std::string::npos);
  CHECK(text.find("eps = 1e-09\n") != std::string::npos);
  CHECK(text.find("clip_norm = 1000000000.0\n") != std::string::npos);
  CHECK(text.find("hidden = 256\n") != std::string::npos);  // sizes are integers

  // Every float and double value reads back bit for bit.
  Rng rng(7);
  for (int i = 0; i < 300; ++i) {
    const float dropout = rng.uniform(0.0f, 0.95f);
    const double lr = double(rng.uniform(1e-6f, 1.0f)) * (1.0 + 1e-12 * i) / 3.0;
    Config v = c;
    v.model.dropout = dropout;
    v.train.lr = lr;
    const Config back = parse_config(v.to_toml(), "back.toml");
    REQUIRE(back.model.dropout == dropout);
    REQUIRE(back.train.lr == lr);
  }

  // `xseq config` prints the same text.
  const std::string path = temp_file("print.toml", kBase);
  const std::string printed = run_cli({"xseq", "config", path});
  std::filesystem::remove(path);
  CHECK(printed.find("dropout = 0.1\n") != std::string::npos);
  CHECK(printed.find("0.1000000015") == std::string::npos);
}

TEST_CASE("robust allocator: impossible sizes throw at once, nothing is counted", "[robust][memory]") {
  const MemoryStats before = memory_stats();
  const std::size_t max = std::numeric_limits<std::size_t>::max();
  for (std::size_t bytes : {max, max / 2, max / 2 + 1, std::size_t(1) << 62, std::size_t(1) << 51}) {
    CAPTURE(bytes);
    CHECK_THROWS_WITH(pool_allocate(bytes), Catch::StartsWith("cannot allocate " + std::to_string(bytes) + " bytes"));
  }
  // Larger than this machine's memory: refused before the system is asked.
  const std::int64_t physical = physical_memory_bytes();
  REQUIRE(physical > 0);
  CHECK_THROWS_WITH(pool_allocate(std::size_t(physical) + 1),
                    Catch::Contains("more than this machine's") && Catch::Contains("GiB of memory"));
  // n * sizeof(T) must not wrap around to a small block.
  PoolAllocator<float> floats;
  CHECK_THROWS_WITH(floats.allocate(max / 2), Catch::Contains("the size overflows"));
  CHECK_THROWS_WITH(pool_allocate(max / 3, 8), Catch::Contains("the size overflows"));
  const MemoryStats after = memory_stats();
  CHECK(after.live_bytes == before.live_bytes);
  // Ordinary sizes still work.
  float* p = floats.allocate(1000);
  p[999] = 1.0f;
  floats.deallocate(p, 1000);
}

TEST_CASE("robust config: with tiled attention the estimate per batch of tokens does not grow with length",
          "[robust][config]") {
  auto activations = [](int length) {
    const std::string n = std::to_string(length);
    return estimate_model_memory(parse_config(kBase, "x.toml", {"data.max_len=" + n, "data.task_max_len=" + n,
                                                                 "train.batch_tokens=8192"}))
        .activation_bytes;
  };
  CHECK(activations(2048) == Approx(activations(512)).epsilon(0.01));
  // Short sequences keep their weights (the materialised kernel): 8 per head and
  // token, more than the tiled kernel's one logsumexp.
  CHECK(activations(8) > activations(512));
}
