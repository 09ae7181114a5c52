// The xseq command line: one binary, subcommands. Lives in the xseq_train
// library so that a program of your own (with your own layers or models
// registered) can offer the same commands: return xseq::cli::run(argc, argv).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "framework/error.hpp"
#include "framework/parallel.hpp"
#include "train/cli.hpp"
#include "train/bench_command.hpp"
#include "train/cli_args.hpp"
#include "train/data_commands.hpp"
#include "train/eval_commands.hpp"
#include "train/train_commands.hpp"
#include "train/demo.hpp"

namespace {

const char* kUsage =
    "usage: xseq <command> [options]\n"
    "\n"
    "commands:\n"
    "  demo      the autodiff engine alone: a tiny attention-pooling model learns to point\n"
    "            at the largest token (no config file needed)\n"
    "            options: --steps N (400) --batch N (64) --seed N (7) --threads N (all cores)\n"
    "  train     train a model from a config file (xseq train --help)\n"
    "  config    print a config with every default filled in (xseq config --help)\n"
    "  translate translate lines from stdin or a file with a checkpoint (xseq translate --help)\n"
    "  eval      metrics of a checkpoint on a test set (xseq eval --help)\n"
    "  average   average the parameters of checkpoints of one model (xseq average --help)\n"
    "  report    a self-contained HTML report of a run directory (xseq report --help)\n"
    "  bench     training or decoding speed of a config's model on random batches (xseq bench --help)\n"
    "  data      make a synthetic task's train/valid/test TSVs, or print corpus statistics\n"
    "            (xseq data --help)\n"
    "  version   print the version\n"
    "\n"
    "--threads N sets the thread count of xseq's kernels and of OpenBLAS together.\n";

}  // namespace

namespace xseq::cli {

Args Args::parse(int argc, char** argv, int first, const std::vector<std::string>& known,
                 const std::string& command, const std::vector<std::string>& known_flags) {
  Args args;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0 &&
        std::find(known_flags.begin(), known_flags.end(), a.substr(2)) != known_flags.end()) {
      args.flags.push_back(a.substr(2));
    } else if (a.rfind("--", 0) == 0) {
      std::string name = a.substr(2), value;
      const auto eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else {
        XSEQ_CHECK(i + 1 < argc, "xseq ", command, ": option --", name, " needs a value");
        value = argv[++i];
      }
      bool ok = false;
      for (const auto& k : known) ok = ok || k == name;
      XSEQ_CHECK(ok, "xseq ", command, ": unknown option --", name, " (see xseq --help)");
      args.options[name] = value;
      args.repeated[name].push_back(value);
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

bool Args::has_flag(const std::string& name) const {
  return std::find(flags.begin(), flags.end(), name) != flags.end();
}

int Args::get_int(const std::string& name, int fallback) const {
  auto it = options.find(name);
  if (it == options.end()) return fallback;
  char* end = nullptr;
  const long v = std::strtol(it->second.c_str(), &end, 10);
  XSEQ_CHECK(end && *end == '\0' && !it->second.empty(), "option --", name, " expects an integer, got '",
             it->second, "'");
  return static_cast<int>(v);
}

std::uint64_t Args::get_u64(const std::string& name, std::uint64_t fallback) const {
  auto it = options.find(name);
  if (it == options.end()) return fallback;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(it->second.c_str(), &end, 10);
  XSEQ_CHECK(end && *end == '\0' && !it->second.empty() && it->second[0] != '-', "option --", name,
             " expects a non-negative integer, got '", it->second, "'");
  return v;
}

}  // namespace xseq::cli

int xseq::cli::run(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  try {
    if (command == "version" || command == "--version") {
      std::printf("xseq 0.1.0\n");
      return 0;
    }
    if (command == "data") return xseq::cli::run_data_command(argc, argv);
    if (command == "train") return xseq::cli::run_train_command(argc, argv);
    if (command == "config") return xseq::cli::run_config_command(argc, argv);
    if (command == "translate") return xseq::cli::run_translate_command(argc, argv);
    if (command == "eval") return xseq::cli::run_eval_command(argc, argv);
    if (command == "average") return xseq::cli::run_average_command(argc, argv);
    if (command == "report") return xseq::cli::run_report_command(argc, argv);
    if (command == "bench") return xseq::cli::run_bench_command(argc, argv);
    if (command == "demo") {
      auto args = xseq::cli::Args::parse(argc, argv, 2, {"steps", "batch", "seed", "threads"}, command);
      XSEQ_CHECK(args.positional.empty(), "xseq demo: unexpected argument '", args.positional[0], "'");
      xseq::set_num_threads(args.get_int("threads", 0));
      xseq::DemoOptions options;
      options.steps = args.get_int("steps", options.steps);
      options.batch = args.get_int("batch", options.batch);
      options.seed = args.get_u64("seed", options.seed);
      XSEQ_CHECK(options.steps > 0 && options.batch > 0, "xseq demo: --steps and --batch must be positive");
      const double accuracy = xseq::run_attention_demo(options);
      return accuracy > 0.9 ? 0 : 1;
    }
    std::fprintf(stderr, "xseq: unknown command '%s'\n\n%s", command.c_str(), kUsage);
    return 2;
  } catch (const xseq::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
