// xseq config: a config with every default filled in, or the key reference.
#include <cstdio>

#include "cli/command.hpp"
#include "config/own_data.hpp"

namespace xseq::cli {
namespace {

struct ConfigFlags {
  std::string config_path;
  std::vector<std::string> sets;
  bool markdown = false;
};

// `xseq config init [--data TRAIN]`: a template for one's own data. `init` is a
// subcommand, so it wins over a file of that name (`./init` names the file).
void add_init(CLI::App& config) {
  auto* cmd = config.add_subcommand("init", "print a commented config for your own parallel text (docs/own-data.md)");
  cmd->footer(
      "Prints a config that trains on your TSV (or SRC,TGT files) with SentencePiece subwords,\n"
      "batches by tokens and BLEU to pick best.h5. With --data, data.train is that file, data.valid is\n"
      "found beside it (valid.tsv, dev.tsv) unless --valid says, and max_len comes from the corpus's\n"
      "length distribution. Save it, check the paths, train:  xseq config init --data data/train.tsv > my.toml");
  auto data = std::make_shared<std::string>(), valid = std::make_shared<std::string>();
  cmd->add_option("--data", *data, "your training corpus: a TSV file, or SRC,TGT files");
  cmd->add_option("--valid", *valid, "your validation corpus (default: beside --data)");
  cmd->callback([data, valid] {
    OwnDataTemplate t;
    if (!data->empty()) {
      t.train = *data;
      t.measure = true;
    }
    t.valid = *valid;
    std::fputs(own_data_config(t).c_str(), stdout);
  });
}

Command add_config(CLI::App& root) {
  auto* cmd = root.add_subcommand("config", "print a config with every default filled in (config init: a template)");
  add_init(*cmd);
  auto f = std::make_shared<ConfigFlags>();
  cmd->add_option("config", f->config_path, "the config file (TOML)")->check(CLI::ExistingFile);
  add_set_flag(*cmd, f->sets);
  cmd->add_flag("--markdown", f->markdown, "print the key reference (docs/config.md) instead");
  return {cmd, [f, cmd] {
            if (f->markdown) {
              std::fputs(config_markdown().c_str(), stdout);
              return 0;
            }
            if (cmd->got_subcommand("init")) return 0;  // printed by its callback
            XSEQ_CHECK(!f->config_path.empty(), "xseq config: expected a CONFIG file; to start one for your own data: "
                       "xseq config init [--data TRAIN.tsv] (see xseq config --help)");
            std::fputs(load_config(f->config_path, f->sets).to_toml().c_str(), stdout);
            return 0;
          }};
}

}  // namespace

Command add_config_command(CLI::App& root) { return add_config(root); }

}  // namespace xseq::cli
