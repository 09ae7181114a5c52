// Config files: every kind of error names the file, line, column and key.
#include <fstream>
#include <sstream>

#include "helpers.hpp"
#include "config/config.hpp"

using namespace xseq;

namespace {
const char* kGood = R"([data]
task = "copy"
task_train = 100

[model]
type = "transformer"
d_model = 32
heads = 2

[train]
lr = 0.005
max_steps = 10
)";
}  // namespace

TEST_CASE("config: values, defaults, overrides, resolved text", "[config]") {
  const Config c = parse_config(kGood, "good.toml", {"train.lr=0.01", "model.cell=lstm", "data.task=reverse"});
  CHECK(c.data.task == "reverse");
  CHECK(c.data.task_train == 100);
  CHECK(c.model.d_model == 32);
  CHECK(c.train.lr == 0.01);
  CHECK(c.model.cell == "lstm");
  CHECK(c.train.batch_size == 64);  // default
  // The resolved text parses back to the same config.
  const Config again = parse_config(c.to_toml(), "resolved.toml");
  CHECK(again.to_toml() == c.to_toml());
  CHECK(c.to_toml().find("batch_size = 64") != std::string::npos);
  CHECK(config_markdown().find("| `label_smoothing` | float | `0.0` |") != std::string::npos);
}

TEST_CASE("config: every kind of error, with its message", "[config]") {
  CHECK_THROWS_WITH(parse_config("[train]\nlr = 0.1\nmax_stpes = 5\n", "x.toml"),
                    "x.toml:3:1: unknown key train.max_stpes (did you mean train.max_steps?)");
  CHECK_THROWS_WITH(parse_config("[model]\nhiden = 5\n", "x.toml"),
                    "x.toml:2:1: unknown key model.hiden (did you mean model.hidden?)");
  CHECK_THROWS_WITH(parse_config("[train]\nlr = \"fast\"\n", "x.toml"), "x.toml:2:6: train.lr: expected a number, got a string");
  CHECK_THROWS_WITH(parse_config("[train]\nbatch_size = 2.5\n", "x.toml"),
                    "x.toml:2:14: train.batch_size: expected an integer, got a float");
  CHECK_THROWS_WITH(parse_config("[train]\nlr = -1.0\n", "x.toml"),
                    "x.toml:2:6: train.lr = -1.0 is out of range (expected > 0 and <= 100)");
  CHECK_THROWS_WITH(parse_config("[model]\ncell = \"rnn\"\n", "x.toml"),
                    "x.toml:2:8: model.cell = \"rnn\" is out of range (expected one of gru, lstm)");
  CHECK_THROWS_WITH(parse_config("[trian]\nlr = 1.0\n", "x.toml"),
                    Catch::StartsWith("x.toml:1:1: unknown section [trian]"));
  CHECK_THROWS_WITH(parse_config("[train\nlr = 1\n", "x.toml"), Catch::StartsWith("x.toml:1:7: "));
  CHECK_THROWS_WITH(parse_config("[data]\ntrain = \"a.tsv\"\n", "x.toml"),
                    "x.toml: data.valid is required with data.train");
  CHECK_THROWS_WITH(parse_config("[data]\ntrain = \"a.tsv\"\nvalid = \"b.tsv\"\ntask = \"copy\"\n", "x.toml"),
                    "x.toml: set either data.train (with data.valid) or data.task, not both");
  CHECK_THROWS_WITH(parse_config("[model]\nd_model = 30\nheads = 4\n[data]\ntask = \"copy\"\n", "x.toml"),
                    "x.toml: model.d_model (30) must be divisible by model.heads (4)");
  CHECK_THROWS_WITH(parse_config(kGood, "x.toml", {"train.lr"}), "--set train.lr: expected section.key=value");
  CHECK_THROWS_WITH(parse_config(kGood, "x.toml", {"train.rl=1"}),
                    "--set train.rl=1: unknown key train.rl (did you mean train.lr?)");
  CHECK_THROWS_WITH(parse_config(kGood, "x.toml", {"train.max_steps=ten"}),
                    "--set train.max_steps=ten: train.max_steps: expected an integer, got a string");
  CHECK_THROWS_WITH(load_config("no/such.toml"), "cannot open config file 'no/such.toml'");
  CHECK_THROWS_WITH(parse_config("[model]\nencoder_extra = 3\n[data]\ntask = \"copy\"\n", "x.toml"),
                    Catch::Contains("model.encoder_extra must be an array of tables"));
}

TEST_CASE("config: extra encoder layers by registered name", "[config]") {
  const Config c = parse_config(std::string(kGood) + "\n[[model.encoder_extra]]\ntype = \"transformer_encoder_layer\"\nheads = 2\nff_dim = 16\n",
                                "extra.toml");
  REQUIRE(c.model.encoder_extra.size() == 1);
  CHECK(c.model.encoder_extra[0].type == "transformer_encoder_layer");
  CHECK(c.model.encoder_extra[0].get("ff_dim", 0) == 16);
  CHECK(parse_config(c.to_toml(), "again.toml").model.encoder_extra[0].get("heads", 0) == 2);
}

TEST_CASE("docs/config.md holds the generated key reference", "[config][docs]") {
  std::ifstream in(std::string(XSEQ_SOURCE_DIR) + "/docs/config.md");
  std::stringstream doc;
  doc << in.rdbuf();
  INFO("regenerate the tables with: ./build/xseq config --markdown");
  CHECK(doc.str().find(config_markdown()) != std::string::npos);
}
