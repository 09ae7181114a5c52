// The xseq command line: one binary, subcommands, parsed by CLI11. Lives in the
// xseq_commands library (cli/) so that a program of your own (with your own
// layers or models registered) can offer the same commands: link
// xseq::xseq_commands and return xseq::cli::run(argc, argv).
//
// Exit codes: 0 success, 1 an error while running (one "error: ..." line on
// stderr), 2 a command-line error (bad flag, missing argument), 130 interrupted.
#include "cli/cli.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "framework/error.hpp"
#include "framework/parallel.hpp"
#include "framework/plugin.hpp"
#include "framework/spelling.hpp"
#include "framework/cpu.hpp"
#include "framework/version.hpp"
#include "cli/command.hpp"

namespace xseq::cli {
namespace {

constexpr const char* kVersion = XSEQ_VERSION_STRING;

Command add_version_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("version", "print the version");
  return {cmd, [] {
            std::printf("xseq %s\n", kVersion);
            const char* forced = std::getenv("XSEQ_ISA");
            std::printf("kernels: %s (this CPU: up to %s%s%s)\n", isa_name(cpu_isa()), isa_name(cpu_isa_supported()),
                        forced && *forced ? "; XSEQ_ISA=" : "", forced && *forced ? forced : "");
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

// --threads on every command (the footer of `xseq --help` says so): the commands
// that do not read it themselves set the count before they run.
void add_missing_threads_flags(std::vector<Command>& commands) {
  for (auto& c : commands) {
    if (c.app->get_option_no_throw("--threads") != nullptr) continue;
    auto threads = std::make_shared<int>(-1);
    add_threads_flag(*c.app, *threads, "all cores");
    c.run = [threads, run = std::move(c.run)] {
      if (*threads >= 0) set_num_threads(*threads);
      return run();
    };
  }
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

// A first word that is no command (`xseq serv`): CLI11 would only say "A
// subcommand is required". Name it, suggest the closest command, list them all.
int refuse_unknown_command(const CLI::App& app, const std::string& word) {
  if (word.empty() || word[0] == '-') return 0;
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  if (std::find(names.begin(), names.end(), word) != names.end()) return 0;
  std::string best;
  std::size_t best_distance = 3;  // suggest only a near miss (at most 2 edits)
  for (const auto& name : names)
    if (const std::size_t d = spelling_distance(word, name); d < best_distance) best_distance = d, best = name;
  std::string list;
  for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
  std::fprintf(stderr, "error: unknown command '%s'%s\ncommands: %s\nRun 'xseq --help' for what each does.\n",
               word.c_str(), best.empty() ? "" : ("; did you mean '" + best + "'?").c_str(), list.c_str());
  return 2;
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
  for (auto add : {add_train_command, add_config_command, add_translate_command, add_eval_command, add_score_command,
                   add_metrics_command, add_average_command, add_quantize_command, add_report_command})
    commands.push_back(add(app));
  for (auto& c : add_data_commands(app)) commands.push_back(std::move(c));
  for (auto add : {add_serve_command, add_bench_command, add_gradcheck_command, add_demo_command, add_version_command})
    commands.push_back(add(app));
  std::vector<std::string> plugins;
  add_plugin_flags(commands, plugins);
  add_missing_threads_flags(commands);
  if (argc < 2) {
    std::fputs(app.help().c_str(), stderr);
    return 2;
  }
  if (const int code = refuse_unknown_command(app, argv[1]); code != 0) return code;
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
