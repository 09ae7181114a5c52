// The xseq command line: one binary, subcommands, parsed by CLI11. Lives in the
// xseq_train library so that a program of your own (with your own layers or
// models registered) can offer the same commands: return xseq::cli::run(argc, argv).
//
// Exit codes: 0 success, 1 an error while running (one "error: ..." line on
// stderr), 2 a command-line error (bad flag, missing argument), 130 interrupted.
#include "train/cli.hpp"

#include <cstdio>
#include <new>
#include <string>

#include "framework/error.hpp"
#include "framework/parallel.hpp"
#include "framework/plugin.hpp"
#include "framework/version.hpp"
#include "train/cli_common.hpp"
#include "train/demo.hpp"

namespace xseq::cli {
namespace {

constexpr const char* kVersion = XSEQ_VERSION_STRING;

Command add_demo_command(CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "demo", "the autodiff engine alone: a tiny attention-pooling model learns to point at the largest token");
  auto options = std::make_shared<DemoOptions>();
  auto threads = std::make_shared<int>(0);
  cmd->add_option("--steps", options->steps, "training steps")->check(CLI::Range(1, 1000000))->capture_default_str();
  cmd->add_option("--batch", options->batch, "sequences per batch")->check(CLI::Range(1, 65536))->capture_default_str();
  cmd->add_option("--seed", options->seed, "weights and data")->capture_default_str();
  add_threads_flag(*cmd, *threads, "all cores");
  return {cmd, [options, threads] {
            set_num_threads(*threads < 0 ? 0 : *threads);
            return run_attention_demo(*options) > 0.9 ? 0 : 1;
          }};
}

Command add_version_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("version", "print the version");
  return {cmd, [] {
            std::printf("xseq %s\n", kVersion);
            return 0;
          }};
}

// One line on stderr for anything thrown while a command runs.
int report_failure(const char* what) {
  std::fflush(stdout);
  std::fprintf(stderr, "error: %s\n", what);
  return 1;
}

// --plugin on every command: loaded before the command reads a config or a checkpoint.
void add_plugin_flags(const std::vector<Command>& commands, std::vector<std::string>& plugins) {
  for (const auto& c : commands)
    if (c.app->get_name() != "version")
      c.app->add_option("--plugin", plugins,
                        "a plugin (shared library) registering layers, attention scores or model types; "
                        "repeatable; a bare name is searched in XSEQ_PLUGIN_PATH")
          ->type_name("LIB");
}

int run_parsed(const std::vector<Command>& commands, const std::vector<std::string>& plugins) {
  try {
    for (const auto& p : plugins) load_plugin(p);
    for (const auto& c : commands)
      if (c.app->parsed()) return c.run();
    return 2;
  } catch (const CLI::ParseError& e) {  // a check across flags that only the command can make
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\nRun with --help for more information.\n", e.what());
    return 2;
  } catch (const Error& e) {
    return report_failure(e.what());
  } catch (const std::bad_alloc&) {
    return report_failure("out of memory (a size in the config or the input is too large for this machine)");
  } catch (const std::exception& e) {
    return report_failure(e.what());
  }
}

}  // namespace
}  // namespace xseq::cli

int xseq::cli::run(int argc, char** argv) {
  CLI::App app{"xseq: train and use attention sequence-to-sequence models on CPUs", "xseq"};
  app.footer("--threads N sets the thread count of xseq's kernels and of OpenBLAS together.\n"
             "Each command has its own --help (xseq train --help).");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("xseq ") + kVersion);
  std::vector<Command> commands;
  for (auto add : {add_train_commands, add_eval_commands, add_data_commands, add_bench_command})
    for (auto& c : add(app)) commands.push_back(std::move(c));
  commands.push_back(add_gradcheck_command(app));
  commands.push_back(add_demo_command(app));
  commands.push_back(add_version_command(app));
  std::vector<std::string> plugins;
  add_plugin_flags(commands, plugins);
  if (argc < 2) {
    std::fputs(app.help().c_str(), stderr);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s\nRun with --help for more information.\n", e.what());
    return 2;
  } catch (const std::exception& e) {  // e.g. a --set value CLI11 could not store
    return report_failure(e.what());
  }
  return run_parsed(commands, plugins);
}
