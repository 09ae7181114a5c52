// xseq gradcheck: flags for framework/layer_check.hpp, which builds the layer as a
// config would and checks its gradients, accumulation and time mixing. Exit 0
// when every check passes, 1 when one fails (or the layer cannot be built), 2 for
// a command-line error.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "framework/layer_check.hpp"
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

int gradcheck(const GradcheckFlags& f) {
  set_num_threads(f.threads < 0 ? 0 : f.threads);
  LayerCheckOptions o;
  o.layer = f.layer;
  o.dim = f.dim;
  o.dropout = f.dropout;
  for (const auto& s : f.sets) {
    const auto eq = s.find('=');
    o.options[s.substr(0, eq)] = typed_option(s.substr(eq + 1));
  }
  o.seed = f.seed;
  o.max_elements = f.max_elements;
  o.where = "--layer";
  const LayerCheckReport report = check_layer(o);
  std::fputs(report.text().c_str(), stdout);
  return report.ok() ? 0 : 1;
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
