#include "framework/layer_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "framework/gradcheck.hpp"

namespace xseq {
namespace {

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

// Checks the layer in one mode: one line per tensor.
void check_mode(SequenceLayer& layer, bool train, const Variable& x, const Lengths& lengths,
                const std::vector<std::string>& names, const std::vector<Variable>& wrt, const LayerCheckOptions& o,
                LayerCheckReport& report) {
  layer.train(train);
  const RngSnapshot snapshot(layer);
  GradCheckOptions options;
  options.seed = o.seed;
  options.max_elements = o.max_elements;
  options.allow_kinks = true;  // relu inside a layer: a kink within the step is not a bug
  const GradCheckResult r = check_gradients(
      [&] {
        snapshot.restore();
        return layer.forward(x, lengths);
      },
      wrt, options);
  for (std::size_t k = 0; k < wrt.size(); ++k) {
    const GradCheckInput& in = r.inputs[k];
    LayerCheckLine line;
    line.mode = train ? "train" : "eval";
    line.tensor = names[k];
    line.max_abs_error = in.max_abs_error;
    line.relative_error = in.relative_error;
    line.worst_ratio = in.worst_ratio;
    line.accumulation_deviation = in.accumulation_deviation;
    line.kinks = in.kinks;
    line.accumulates = in.accumulates;
    line.ok = in.ok();
    report.lines.push_back(line);
  }
}

// Checks the layer's time_mixing() claim in eval mode: perturbing step `s` of the
// first (full-length) sequence may change outputs at steps >= s (causal) or at s
// alone (position-wise).
void check_time_mixing(SequenceLayer& layer, const Tensor& input, const Lengths& lengths, Rng& rng,
                       LayerCheckReport& report) {
  const SequenceLayer::TimeMixing mixing = layer.time_mixing();
  report.time_mixing = time_mixing_name(mixing);
  if (mixing == SequenceLayer::TimeMixing::bidirectional) return;
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
  report.time_mixing_worst = worst;
  report.time_mixing_ok = worst <= 1e-6;
}

}  // namespace

int LayerCheckReport::failures() const {
  int n = time_mixing_ok ? 0 : 1;
  for (const auto& l : lines) n += l.ok ? 0 : 1;
  return n;
}

std::string LayerCheckReport::text() const {
  std::string out;
  char buf[512];
  for (const auto& l : lines) {
    std::snprintf(buf, sizeof buf,
                  "%-5s %-32s max abs error %.3g, relative %.3g, error/tolerance %.3g, accumulation %.3g, "
                  "kinks %lld: %s\n",
                  l.mode.c_str(), l.tensor.c_str(), l.max_abs_error, l.relative_error, l.worst_ratio,
                  l.accumulation_deviation, static_cast<long long>(l.kinks),
                  l.ok ? "ok" : !l.accumulates ? "FAIL (backward does not accumulate)" : "FAIL");
    out += buf;
  }
  if (time_mixing == "bidirectional") {
    out += "eval  time_mixing bidirectional: nothing to check (encoder only)\n";
  } else {
    std::snprintf(buf, sizeof buf, "eval  time_mixing %-18s outputs it must not touch moved by at most %.3g: %s\n",
                  time_mixing.c_str(), time_mixing_worst, time_mixing_ok ? "ok" : "FAIL (time_mixing() claims too much)");
    out += buf;
  }
  if (ok())
    std::snprintf(buf, sizeof buf, "gradcheck %s: all %zu checks passed (%zu tensors, train and eval mode, dim %lld)\n",
                  layer.c_str(), checks(), lines.size() / 2, static_cast<long long>(dim));
  else
    std::snprintf(buf, sizeof buf,
                  "gradcheck %s: %d of %zu checks FAILED (if the layer has relu or max inside, several kinks "
                  "within one step can fool finite differences: try a smooth activation or a smaller --dim)\n",
                  layer.c_str(), failures(), checks());
  return out + buf;
}

LayerCheckReport check_layer(const LayerCheckOptions& o) {
  check_layer_type(o.layer, o.where);
  LayerArgs args;
  args.type = o.layer;
  args.dim = o.dim;
  args.dropout = static_cast<float>(o.dropout);
  for (const auto& [key, value] : o.options) args.options[key] = value;
  Rng rng(o.seed);
  const std::shared_ptr<SequenceLayer> layer = make_layer(args, rng);
  const std::int64_t B = 3, T = 5;
  const Lengths lengths{5, 3, 1};
  Tensor input({B, T, o.dim});
  for (std::int64_t i = 0; i < input.numel(); ++i) input.data()[i] = rng.uniform(-1.0f, 1.0f);
  const Variable x(input);
  std::vector<Variable> wrt{x};
  std::vector<std::string> names{"input"};
  for (const auto& p : layer->named_parameters()) {
    wrt.push_back(p.variable);
    names.push_back(p.name);
  }
  LayerCheckReport report;
  report.layer = o.layer;
  report.dim = o.dim;
  for (const bool train : {true, false}) check_mode(*layer, train, x, lengths, names, wrt, o, report);
  check_time_mixing(*layer, input, lengths, rng, report);
  return report;
}

}  // namespace xseq
