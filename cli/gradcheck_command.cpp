// xseq gradcheck: checks a registered layer's gradients from the command line.
// Builds the layer as a config would (--set gives its options), feeds it a
// random padded batch (B = 3, T = 5, lengths 5, 3, 1) and compares every
// parameter gradient and the input gradient with finite differences, in train
// mode and in eval mode, and checks that backward accumulates (the public
// checker, framework/gradcheck.hpp). Exit 0 when every check passes, 1 when one
// fails (or the layer cannot be built), 2 for a command-line error.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "framework/gradcheck.hpp"
#include "framework/parallel.hpp"
#include "cli/command.hpp"

namespace xseq::cli {
namespace {

struct GradcheckFlags {
  std::string layer;
  std::int64_t dim = 16;
  double dropout = 0.1;
  std::vector<std::string> sets;
  std::uint64_t seed = 1;
  std::int64_t max_elements = 0;
  int threads = -1;
};

/// key=value with a non-empty key (checked when the flag parses: exit 2).
const CLI::Validator kKeyValue(
    [](std::string& text) {
      const auto eq = text.find('=');
      if (eq == std::string::npos || eq == 0) return "'" + text + "' is not key=value";
      return std::string();
    },
    "KEY=VALUE");

// true/false are booleans, a finite decimal number is a number, anything else a string.
LayerOption typed_option(const std::string& text) {
  if (text == "true" || text == "false") return LayerOption(text == "true");
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (!text.empty() && end && *end == '\0' && std::isfinite(v)) return LayerOption(v);
  return LayerOption(text);
}

// Every registered generator back to the state it had when the check began, so
// that each evaluation of the layer draws the same dropout masks.
struct RngSnapshot {
  std::vector<std::pair<Rng*, std::pair<std::uint64_t, std::uint64_t>>> states;
  explicit RngSnapshot(Module& m) {
    for (auto& [name, rng] : m.named_rngs()) states.push_back({rng, {rng->seed(), rng->counter()}});
  }
  void restore() const {
    for (const auto& [rng, state] : states) rng->set_state(state.first, state.second);
  }
};

// Checks the layer in one mode; prints a line per tensor; returns the failures.
int check_mode(SequenceLayer& layer, bool train, const Variable& x, const Lengths& lengths,
               const std::vector<std::string>& names, const std::vector<Variable>& wrt, const GradcheckFlags& f) {
  layer.train(train);
  const RngSnapshot snapshot(layer);
  GradCheckOptions options;
  options.seed = f.seed;
  options.max_elements = f.max_elements;
  options.allow_kinks = true;  // relu inside a layer: a kink within the step is not a bug
  const GradCheckResult r = check_gradients(
      [&] {
        snapshot.restore();
        return layer.forward(x, lengths);
      },
      wrt, options);
  int failures = 0;
  for (std::size_t k = 0; k < wrt.size(); ++k) {
    const GradCheckInput& in = r.inputs[k];
    std::printf("%-5s %-32s max abs error %.3g, relative %.3g, error/tolerance %.3g, accumulation %.3g, "
                "kinks %lld: %s\n",
                train ? "train" : "eval", names[k].c_str(), in.max_abs_error, in.relative_error, in.worst_ratio,
                in.accumulation_deviation, static_cast<long long>(in.kinks),
                in.ok() ? "ok" : !in.accumulates ? "FAIL (backward does not accumulate)" : "FAIL");
    failures += in.ok() ? 0 : 1;
  }
  return failures;
}

// Checks the layer's time_mixing() claim in eval mode: perturbing step `s` of the
// first (full-length) sequence may change outputs at steps >= s (causal) or at s
// alone (position-wise). Returns 1 when an output outside that range moved.
int check_time_mixing(SequenceLayer& layer, const Tensor& input, const Lengths& lengths, Rng& rng) {
  const SequenceLayer::TimeMixing mixing = layer.time_mixing();
  if (mixing == SequenceLayer::TimeMixing::bidirectional) {
    std::printf("eval  time_mixing bidirectional: nothing to check (encoder only)\n");
    return 0;
  }
  layer.eval();
  NoGradGuard no_grad;
  const Tensor base = layer.forward(Variable(input), lengths).value();
  const std::int64_t T = input.dim(1), D = input.dim(2), out_width = base.dim(2);
  double worst = 0.0;
  for (std::int64_t s = 0; s < T; ++s) {
    Tensor moved = input.clone();
    for (std::int64_t d = 0; d < D; ++d) moved.data()[s * D + d] += rng.uniform(0.5f, 1.0f);
    const Tensor out = layer.forward(Variable(moved), lengths).value();
    for (std::int64_t t = 0; t < T; ++t) {
      const bool may_change = mixing == SequenceLayer::TimeMixing::causal ? t >= s : t == s;
      for (std::int64_t d = 0; d < out_width && !may_change; ++d)
        worst = std::max(worst, double(std::fabs(out.data()[t * out_width + d] - base.data()[t * out_width + d])));
    }
  }
  const bool ok = worst <= 1e-6;
  std::printf("eval  time_mixing %-18s outputs it must not touch moved by at most %.3g: %s\n",
              time_mixing_name(mixing), worst, ok ? "ok" : "FAIL (time_mixing() claims too much)");
  return ok ? 0 : 1;
}

int gradcheck(const GradcheckFlags& f) {
  set_num_threads(f.threads < 0 ? 0 : f.threads);
  check_layer_type(f.layer, "--layer");
  LayerArgs args;
  args.type = f.layer;
  args.dim = f.dim;
  args.dropout = static_cast<float>(f.dropout);
  for (const auto& s : f.sets) {
    const auto eq = s.find('=');
    args.options[s.substr(0, eq)] = typed_option(s.substr(eq + 1));
  }
  Rng rng(f.seed);
  const std::shared_ptr<SequenceLayer> layer = make_layer(args, rng);

  const std::int64_t B = 3, T = 5;
  const Lengths lengths{5, 3, 1};
  Tensor input({B, T, f.dim});
  for (std::int64_t i = 0; i < input.numel(); ++i) input.data()[i] = rng.uniform(-1.0f, 1.0f);
  const Variable x(input);
  std::vector<Variable> wrt{x};
  std::vector<std::string> names{"input"};
  for (const auto& p : layer->named_parameters()) {
    wrt.push_back(p.variable);
    names.push_back(p.name);
  }
  int failures = 0;
  for (const bool train : {true, false}) failures += check_mode(*layer, train, x, lengths, names, wrt, f);
  failures += check_time_mixing(*layer, input, lengths, rng);
  const std::size_t checks = 2 * wrt.size() + 1;
  if (failures == 0)
    std::printf("gradcheck %s: all %zu checks passed (%zu tensors, train and eval mode, dim %lld)\n",
                f.layer.c_str(), checks, wrt.size(), static_cast<long long>(f.dim));
  else
    std::printf("gradcheck %s: %d of %zu checks FAILED (if the layer has relu or max inside, several kinks "
                "within one step can fool finite differences: try a smooth activation or a smaller --dim)\n",
                f.layer.c_str(), failures, checks);
  return failures == 0 ? 0 : 1;
}

}  // namespace

Command add_gradcheck_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("gradcheck", "check a registered layer's gradients with finite differences");
  cmd->footer(
      "Builds --layer with the options of --set (true/false are booleans, numbers are numbers,\n"
      "anything else a string), feeds it a random padded batch (3 sequences of lengths 5, 3, 1,\n"
      "width --dim) and compares the gradient of every parameter and of the input with central\n"
      "finite differences, in train mode (dropout masks fixed between evaluations) and in eval\n"
      "mode, then checks that a second backward pass doubles every gradient, and that the\n"
      "layer's time_mixing() claim (causal, position_wise) holds. One line per tensor and\n"
      "mode; exit 0 when all pass, 1 when any fails. --plugin loads the layer's plugin.");
  auto f = std::make_shared<GradcheckFlags>();
  cmd->add_option("--layer", f->layer, "a registered layer type")->required();
  cmd->add_option("--dim", f->dim, "the model width the layer gets")
      ->check(kInteger)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{4096}))
      ->default_val(16);
  cmd->add_option("--dropout", f->dropout, "the model dropout the layer gets")
      ->check(kFiniteNumber)
      ->check(CLI::Range(0.0, 0.99))
      ->default_val(0.1);
  cmd->add_option("--set", f->sets, "a layer option, key=value, repeatable")
      ->allow_extra_args(false)
      ->check(kKeyValue)
      ->type_name("KEY=VALUE");
  cmd->add_option("--seed", f->seed, "weights, input and projection")->check(kInteger)->check(CLI::NonNegativeNumber)->default_val(1);
  cmd->add_option("--max-elements", f->max_elements, "check at most this many elements per tensor (0 = all)")
      ->check(kInteger)
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 40))
      ->default_val(0);
  add_threads_flag(*cmd, f->threads, "all cores");
  return {cmd, [f] { return gradcheck(*f); }};
}

}  // namespace xseq::cli
