// xseq config: a config with every default filled in, or the key reference.
#include <cstdio>

#include "cli/command.hpp"

namespace xseq::cli {
namespace {

struct ConfigFlags {
  std::string config_path;
  std::vector<std::string> sets;
  bool markdown = false;
};

Command add_config(CLI::App& root) {
  auto* cmd = root.add_subcommand("config", "print a config with every default filled in");
  auto f = std::make_shared<ConfigFlags>();
  cmd->add_option("config", f->config_path, "the config file (TOML)")->check(CLI::ExistingFile);
  add_set_flag(*cmd, f->sets);
  cmd->add_flag("--markdown", f->markdown, "print the key reference (docs/config.md) instead");
  return {cmd, [f] {
            if (f->markdown) {
              std::fputs(config_markdown().c_str(), stdout);
              return 0;
            }
            XSEQ_CHECK(!f->config_path.empty(), "xseq config: expected one CONFIG file (see xseq config --help)");
            std::fputs(load_config(f->config_path, f->sets).to_toml().c_str(), stdout);
            return 0;
          }};
}

}  // namespace

Command add_config_command(CLI::App& root) { return add_config(root); }

}  // namespace xseq::cli
