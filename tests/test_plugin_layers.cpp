// Layers by name under a strict contract: typed options (numbers, booleans,
// strings), unknown and missing options named, unknown types refused when the
// config is read, the model's dropout passed on, and `xseq gradcheck`.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "helpers.hpp"
#include "process.hpp"
#include "config/config.hpp"

using namespace xseq;
using xseq::test::run_xseq;

namespace {
// y = x * scale, with options of every type read through the typed getters.
class Typed : public SequenceLayer {
 public:
  Typed(std::int64_t dim, float scale) { scale_ = register_parameter("scale", Tensor::full({dim}, scale)); }
  Variable forward(const Variable& x, const Lengths&) override { return x * scale_; }
  std::int64_t units = 0;
  bool flag = false;
  std::string mode;

 private:
  Variable scale_;
};

std::shared_ptr<SequenceLayer> typed_factory(const LayerArgs& a, Rng&) {
  auto layer = std::make_shared<Typed>(a.dim, static_cast<float>(a.require_number("scale")));
  layer->units = a.get_int("units", 7);
  layer->flag = a.get_bool("flag", false);
  layer->mode = a.get_string("mode", "plain");
  return layer;
}

std::shared_ptr<Typed> build(std::map<std::string, LayerOption> options) {
  LayerArgs args;
  args.type = "typed_layer";
  args.dim = 2;
  args.options = std::move(options);
  Rng rng(1);
  return std::dynamic_pointer_cast<Typed>(make_layer(args, rng));
}

const char* kBase = "[data]\ntask = \"copy\"\n[model]\nd_model = 8\nheads = 2\n";
}  // namespace

XSEQ_REGISTER_LAYER(typed_layer, typed_factory);

TEST_CASE("layer options: numbers, booleans and strings through typed getters", "[plugin]") {
  const auto layer = build({{"scale", 0.5}, {"units", 3}, {"flag", true}, {"mode", "gated"}});
  CHECK(layer->parameter("scale").value().at({1}) == 0.5f);
  CHECK(layer->units == 3);
  CHECK(layer->flag);
  CHECK(layer->mode == "gated");
  const auto defaults = build({{"scale", 1.0}});
  CHECK(defaults->units == 7);
  CHECK_FALSE(defaults->flag);
  CHECK(defaults->mode == "plain");
  CHECK(build({{"scale", 1.0}, {"flag", 1}})->flag);  // older checkpoints stored booleans as 1 and 0

  LayerArgs args;
  args.type = "t";
  args.subject = "layer 't'";  // what errors name; make_layer sets it
  args.options = {{"b", true}, {"s", "text"}};
  CHECK(args.get("b", 0.0) == 1.0);  // get() keeps reading booleans as numbers
  CHECK_THROWS_WITH(args.get("s", 0.0), Catch::Contains("layer 't': option 's' must be a number, got a string"));
}

TEST_CASE("layer options: unknown, missing and mistyped options are named", "[plugin]") {
  CHECK_THROWS_WITH(build({{"scale", 1.0}, {"mdoe", "gated"}}),
                    Catch::Contains("layer 'typed_layer': unknown option 'mdoe' (did you mean 'mode'?)"));
  CHECK_THROWS_WITH(build({{"units", 2}}), Catch::Contains("layer 'typed_layer': missing required option 'scale' (a number)"));
  CHECK_THROWS_WITH(build({{"scael", 2.0}}), Catch::Contains("missing required option 'scale'") &&
                                                 Catch::Contains("the config has 'scael': a misspelling?"));
  CHECK_THROWS_WITH(build({{"scale", 1.0}, {"units", 2.5}}), Catch::Contains("option 'units' must be a whole number, got 2.5"));
  CHECK_THROWS_WITH(build({{"scale", 1.0}, {"flag", "yes"}}), Catch::Contains("option 'flag' must be true or false, got \"yes\""));
  CHECK_THROWS_WITH(build({{"scale", 1.0}, {"flag", 2}}), Catch::Contains("option 'flag' must be true or false, got 2"));
  CHECK_THROWS_WITH(build({{"scale", 1.0}, {"mode", 3}}), Catch::Contains("option 'mode' must be a string, got a number"));
  // A layer that reads no options at all.
  LayerArgs args;
  args.type = "transformer_encoder_layer";
  args.dim = 8;
  args.options = {{"heads", 2}, {"ff_dmi", 16}};
  Rng rng(1);
  CHECK_THROWS_WITH(make_layer(args, rng), Catch::Contains("layer 'transformer_encoder_layer': unknown option 'ff_dmi' "
                                                           "(did you mean 'ff_dim'?)"));
}

TEST_CASE("config: encoder_extra types are checked at load time, options round-trip typed", "[plugin][config]") {
  const std::string typo = std::string(kBase) + "\n[[model.encoder_extra]]\ntype = \"higway\"\n";
  CHECK_THROWS_WITH(parse_config(typo, "x.toml"),
                    Catch::Contains("x.toml:8:8: model.encoder_extra.type: unknown layer type 'higway' (registered: ") &&
                        Catch::Contains("transformer_encoder_layer"));
  CHECK_THROWS_WITH(parse_config(std::string(kBase) + "[[model.encoder_extra]]\ntype = \"typed_layer\"\nv = [1]\n", "y.toml"),
                    Catch::Contains("y.toml:8:5: model.encoder_extra.v: options must be numbers, booleans or strings"));

  const Config c = parse_config(std::string(kBase) +
                                    "[[model.encoder_extra]]\ntype = \"typed_layer\"\nscale = 0.25\nunits = 3\n"
                                    "flag = true\nmode = \"a \\\"quoted\\\" word\"\n",
                                "z.toml");
  const LayerArgs& args = c.model.encoder_extra.at(0);
  CHECK(args.options.at("flag") == LayerOption(true));
  CHECK(args.options.at("mode") == LayerOption("a \"quoted\" word"));
  CHECK(args.options.at("units") == LayerOption(3));
  const Config again = parse_config(c.to_toml(), "resolved.toml");
  CHECK(again.model.encoder_extra.at(0).options == args.options);
  CHECK(again.to_toml() == c.to_toml());

  // An unknown option is refused when the model is built.
  const Config bad = parse_config(std::string(kBase) + "[[model.encoder_extra]]\ntype = \"typed_layer\"\nscale = 1\nunit = 2\n",
                                  "w.toml");
  Rng rng(3);
  CHECK_THROWS_WITH(make_model(bad.model, 10, 10, rng), Catch::Contains("unknown option 'unit' (did you mean 'units'?)"));
}

TEST_CASE("the model's dropout reaches encoder_extra layers", "[plugin]") {
  for (const char* type : {"transformer", "rnn_attention"}) {
    for (const float dropout : {0.0f, 0.3f}) {
      DYNAMIC_SECTION(type << ", dropout " << dropout) {
        Config c = parse_config(std::string(kBase) + "[[model.encoder_extra]]\ntype = \"transformer_encoder_layer\"\n"
                                                     "heads = 2\n",
                                "d.toml", {std::string("model.type=") + type, "model.hidden=8"});
        c.model.dropout = dropout;
        Rng rng(5);
        const auto model = make_model(c.model, 10, 10, rng);
        std::shared_ptr<SequenceLayer> extra;
        for (const auto& [name, child] : model->children())
          if (name == "encoder_extra.0") extra = std::dynamic_pointer_cast<SequenceLayer>(child);
        REQUIRE(extra != nullptr);
        const Variable x(test::uniform({2, 4, 8}, rng));
        extra->train();
        const Tensor a = extra->forward(x, {4, 3}).value(), b = extra->forward(x, {4, 3}).value();
        CHECK((max_abs_diff(a, b) > 0.0f) == (dropout > 0.0f));
        extra->eval();
        CHECK(max_abs_diff(extra->forward(x, {4, 3}).value(), extra->forward(x, {4, 3}).value()) == 0.0f);
      }
    }
  }
}

TEST_CASE("xseq gradcheck: a registered layer's gradients from the command line", "[plugin][gradcheck]") {
  const std::string dir = "test_plugin-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::string out, err;
  const std::vector<std::string> layer{"gradcheck", "--layer", "transformer_encoder_layer", "--dim", "8",
                                       "--set", "heads=2", "--set", "ff_dim=12", "--set", "activation=gelu",
                                       "--set", "norm_first=false"};
  CHECK(run_xseq(layer, "", dir + "/ok", &out, &err) == 0);
  INFO(out << err);
  CHECK_THAT(out, Catch::Contains("train input ") && Catch::Contains("eval  input ") &&
                      Catch::Contains("train ff.linear1.weight") && Catch::Contains("eval  norm2.bias"));
  CHECK_THAT(out, Catch::Contains("gradcheck transformer_encoder_layer: all") && Catch::Contains("checks passed"));
  CHECK(out.find("FAIL") == std::string::npos);

  std::vector<std::string> typo = layer;
  typo[6] = "headz=2";
  CHECK(run_xseq(typo, "", dir + "/typo", &out, &err) == 1);
  CHECK_THAT(err, Catch::Contains("unknown option 'headz' (did you mean 'heads'?)"));
  CHECK(run_xseq({"gradcheck", "--layer", "higway"}, "", dir + "/unknown", &out, &err) == 1);
  CHECK_THAT(err, Catch::Contains("--layer: unknown layer type 'higway' (registered: ") &&
                      Catch::Contains("transformer_encoder_layer"));
  CHECK(run_xseq({"gradcheck", "--layer", "transformer_encoder_layer", "--set", "heads"}, "", dir + "/flag", &out,
                 &err) == 2);
  CHECK_THAT(err, Catch::Contains("'heads' is not key=value"));
  std::filesystem::remove_all(dir);
}

namespace {
// A custom score for the RNN decoder: dot products scaled by 1/2 (the default
// prepare() keeps the encoder states as keys and values).
class HalfDotAttention : public DecoderAttention {
 public:
  explicit HalfDotAttention(std::int64_t dim) : dim_(dim) {}
  std::int64_t output_dim() const override { return dim_; }

 protected:
  Variable scores(const Variable& query, const Memory& memory) const override {
    return mul_scalar(matmul(query, memory.keys, false, true), 0.5f);
  }

 private:
  std::int64_t dim_;
};
}  // namespace

XSEQ_REGISTER_DECODER_ATTENTION(half_dot, [](std::int64_t q, std::int64_t k, Rng&) -> std::shared_ptr<DecoderAttention> {
  XSEQ_CHECK(q == k, "half_dot needs equal sizes");
  return std::make_shared<HalfDotAttention>(k);
});

TEST_CASE("model.attention: one registry for built-in and registered decoder attentions", "[plugin][config]") {
  const std::string base = "[data]\ntask = \"copy\"\n[model]\ntype = \"rnn_attention\"\nembed_dim = 8\nhidden = 8\n";
  const auto names = registered_decoder_attentions();
  for (const char* name : {"additive", "concat", "dot", "general", "half_dot", "seed"})
    CHECK(std::find(names.begin(), names.end(), name) != names.end());
  CHECK_THROWS_WITH(parse_config(base + "attention = \"half_dott\"\n", "a.toml"),
                    Catch::Contains("a.toml:7:13: model.attention = \"half_dott\" is not registered (registered: "
                                    "additive, concat, dot, general, half_dot, seed)"));
  const Config c = parse_config(base + "attention = \"half_dot\"\n", "b.toml");
  Rng rng(5);
  auto model = make_model(c.model, 12, 12, rng);
  // The combine layer comes with every score except the seed's, whose output mixes in the query.
  std::set<std::string> params;
  for (const auto& p : model->named_parameters()) params.insert(p.name);
  CHECK(params.count("combine.weight") == 1);
  CHECK(params.count("attention.W1.weight") == 0);
  const IndexTensor source({2, 3}, {4, 5, 6, 7, 8, 0}), input({2, 2}, {2, 4, 2, 7});
  const Variable logits = model->logits(source, {3, 2}, input, {2, 2});
  CHECK(logits.shape() == Shape{2, 2, 12});
  // Its scores are what the model attends with: halving them flattens the weights
  // compared with plain dot products over the same states.
  HalfDotAttention half(4);
  Rng r2(9);
  auto dot = make_decoder_attention("dot", 4, 4, r2);
  const Variable q(Tensor::from_vector(Shape{1, 4}, {1, 2, 0, 1})),
      states(Tensor::from_vector(Shape{1, 2, 4}, {1, 0, 0, 0, 0, 1, 1, 1}));
  const AttentionResult a = half.forward(q, states, {2}), b = dot->forward(q, states, {2});
  CHECK(a.weights.value().data()[0] == Approx(1.0 / (1.0 + std::exp(0.5 * (3.0 - 1.0)))));
  CHECK(b.weights.value().data()[0] == Approx(1.0 / (1.0 + std::exp(3.0 - 1.0))));
}

TEST_CASE("config override: --set model.encoder_extra takes an array of inline tables", "[plugin][config]") {
  const Config c = parse_config(kBase, "x.toml", {"model.encoder_extra=[{type = \"typed_layer\", scale = 0.5, flag = true}]"});
  REQUIRE(c.model.encoder_extra.size() == 1);
  CHECK(c.model.encoder_extra[0].type == "typed_layer");
  CHECK(c.model.encoder_extra[0].options.at("scale") == LayerOption(0.5));
  CHECK(c.model.encoder_extra[0].options.at("flag") == LayerOption(true));
  // It replaces the config's layers; [] removes them.
  const std::string with_layer = std::string(kBase) + "[[model.encoder_extra]]\ntype = \"typed_layer\"\nscale = 1\n";
  CHECK(parse_config(with_layer, "y.toml", {"model.encoder_extra=[]"}).model.encoder_extra.empty());
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {"model.encoder_extra=[{type = \"nope\"}]"}),
                    Catch::Contains("--set model.encoder_extra=[{type = \"nope\"}]") &&
                        Catch::Contains("unknown layer type 'nope'"));
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {"model.encoder_extra={type = 1"}),
                    Catch::Contains("expected an array of inline tables"));
  CHECK_THROWS_WITH(parse_config(kBase, "x.toml", {"model.encoder_extra=3"}),
                    Catch::Contains("must be an array of tables"));
}
