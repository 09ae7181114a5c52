// Golden tests: xseq's layers against PyTorch on the fixtures that
// scripts/make_golden.py wrote (forward outputs and every gradient).
#include <cmath>
#include <map>
#include <string>

#include "helpers.hpp"

using namespace xseq;

namespace {

#ifndef XSEQ_FIXTURE_DIR
#error "XSEQ_FIXTURE_DIR must point at tests/fixtures"
#endif

constexpr float kGoldenTolerance = 1e-4f;

class Golden {
 public:
  explicit Golden(const std::string& name) : file_(std::string(XSEQ_FIXTURE_DIR) + "/" + name, H5File::Mode::read) {}

  /// An input as a leaf that records its gradient (when the fixture has one).
  Variable input(const std::string& name) {
    Variable v(file_.read("inputs/" + name), file_.has("grads/inputs/" + name));
    inputs_[name] = v;
    return v;
  }
  Lengths lengths(const std::string& name = "lengths") const {
    const Tensor t = file_.read("inputs/" + name);
    Lengths out;
    for (std::int64_t i = 0; i < t.numel(); ++i) out.push_back(static_cast<std::int64_t>(t.data()[i]));
    return out;
  }
  IndexTensor indices(const std::string& name) const {
    const Tensor t = file_.read("inputs/" + name);
    std::vector<std::int32_t> ids;
    for (std::int64_t i = 0; i < t.numel(); ++i) ids.push_back(static_cast<std::int32_t>(t.data()[i]));
    return IndexTensor(t.shape(), ids);
  }

  /// Copies every fixture weight into `module`; both must hold the same names.
  void load_params(Module& module) {
    const auto names = file_.has("params") ? file_.datasets("params") : std::vector<std::string>{};
    REQUIRE(static_cast<std::size_t>(module.named_parameters().size()) == names.size());
    for (const auto& path : names) {
      std::string dotted = path;
      std::replace(dotted.begin(), dotted.end(), '/', '.');
      module.set_parameter(dotted, file_.read("params/" + path));
      params_[path] = module.parameter(dotted);
    }
  }

  /// Compares the outputs, then backpropagates sum(output * proj) and compares every gradient.
  void check(const std::map<std::string, Variable>& outputs) {
    Variable loss;
    for (const auto& [name, out] : outputs) {
      compare("outputs/" + name, out.value());
      const Variable term = sum(out * Variable(file_.read("proj/" + name)));
      loss = loss.defined() ? loss + term : term;
    }
    REQUIRE(outputs.size() == file_.datasets("outputs").size());
    loss.backward();
    for (const auto& [name, v] : inputs_)
      if (file_.has("grads/inputs/" + name)) compare("grads/inputs/" + name, v.grad());
    for (const auto& [path, v] : params_) compare("grads/params/" + path, v.grad());
  }

 private:
  void compare(const std::string& name, const Tensor& actual) {
    const Tensor expected = file_.read(name);
    INFO(file_.path() << ": " << name << " expected shape " << expected.shape() << ", got " << actual.shape());
    REQUIRE(actual.defined());
    REQUIRE(actual.numel() == expected.numel());
    const float diff = max_abs_diff(actual.reshape(expected.shape()), expected);
    INFO(name << ": max |xseq - torch| = " << diff);
    CHECK(diff <= kGoldenTolerance);
  }

  H5File file_;
  std::map<std::string, Variable> inputs_, params_;
};

}  // namespace

TEST_CASE("golden: MultiHeadAttention, cross-attention with key padding", "[golden][mha]") {
  Golden g("mha_padding.h5");
  Rng rng(1);
  MultiHeadAttention mha(16, 4, rng);
  g.load_params(mha);
  const Variable q = g.input("query"), k = g.input("key"), v = g.input("value");
  const AttentionResult r = mha.forward(q, k, v, key_padding_mask(g.lengths(), k.dim(1)));
  g.check({{"output", r.output}, {"weights", r.weights}});
}

TEST_CASE("golden: MultiHeadAttention, causal self-attention with key padding", "[golden][mha]") {
  Golden g("mha_causal.h5");
  Rng rng(1);
  MultiHeadAttention mha(16, 4, rng);
  g.load_params(mha);
  const Variable x = g.input("x");
  const AttentionResult r = mha.forward(x, x, x, key_padding_mask(g.lengths(), x.dim(1)), true);
  g.check({{"output", r.output}, {"weights", r.weights}});
}

TEST_CASE("golden: TransformerEncoderLayer and TransformerDecoderLayer, pre- and post-norm", "[golden][transformer]") {
  for (const bool pre : {true, false}) {
    const std::string tag = pre ? "prenorm" : "postnorm";
    DYNAMIC_SECTION(tag) {
      TransformerLayerOptions o;
      o.heads = 4;
      o.ff_dim = 32;
      o.dropout = 0.0f;
      o.norm_first = pre;
      o.activation = pre ? Activation::relu : Activation::gelu;
      Rng rng(1);
      {
        Golden g("encoder_" + tag + ".h5");
        TransformerEncoderLayer enc(16, rng, o);
        g.load_params(enc);
        const Variable x = g.input("x");
        g.check({{"output", enc.forward(x, g.lengths())}});
      }
      {
        Golden g("decoder_" + tag + ".h5");
        TransformerDecoderLayer dec(16, rng, o);
        g.load_params(dec);
        const Variable x = g.input("x"), memory = g.input("memory");
        const AttentionResult r = dec.forward(x, memory, key_padding_mask(g.lengths("memory_lengths"), memory.dim(1)));
        g.check({{"output", r.output}});
      }
    }
  }
}

TEST_CASE("golden: GRU and LSTM, 2 layers, bidirectional, packed lengths", "[golden][rnn]") {
  for (const CellType cell : {CellType::gru, CellType::lstm}) {
    const bool lstm = cell == CellType::lstm;
    DYNAMIC_SECTION((lstm ? "lstm" : "gru")) {
      Golden g(lstm ? "lstm.h5" : "gru.h5");
      Rng rng(1);
      Recurrent rnn(5, 6, rng, Recurrent::Options{cell, 2, true, 0.0f});
      g.load_params(rnn);
      const Variable x = g.input("x");
      const Recurrent::Result r = rnn.forward(x, g.lengths());
      std::map<std::string, Variable> outputs{{"output", r.output}, {"h_n", stack(r.h_last, 0)}};
      if (lstm) outputs["c_n"] = stack(r.c_last, 0);
      g.check(outputs);
    }
  }
}

TEST_CASE("golden: LayerNorm", "[golden]") {
  Golden g("layernorm.h5");
  LayerNorm ln(7);
  g.load_params(ln);
  g.check({{"output", ln.forward(g.input("x"))}});
}

TEST_CASE("golden: cross-entropy with ignore_index and label smoothing", "[golden]") {
  Golden g("cross_entropy.h5");
  const Variable logits = g.input("logits");
  const Variable loss = cross_entropy(logits, g.indices("targets"), 0, 0.1f);
  g.check({{"loss", reshape(loss, {1})}});
}
