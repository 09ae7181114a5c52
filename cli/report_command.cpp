// xseq report: one self-contained HTML page for a run directory (eval/report.cpp).
#include <cstdio>

#include "cli/command.hpp"
#include "eval/report.hpp"
#include "framework/parallel.hpp"

namespace xseq::cli {
namespace {

Command add_report(CLI::App& root) {
  auto* cmd = root.add_subcommand("report", "a self-contained HTML report of a run directory");
  cmd->footer(
      "Writes one self-contained HTML page (inline SVG, no network resources): training and\n"
      "validation curves from log.jsonl, final metrics, attention heatmaps of N validation\n"
      "sentences decoded with best.h5, and the config.");
  struct Flags {
    std::string run_dir, out;
    int heatmaps = 3, threads = -1;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("run_dir", f->run_dir, "the run directory (train.out_dir)")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out", f->out, "where to write the page (default RUN_DIR/report.html)");
  cmd->add_option("--heatmaps", f->heatmaps, "validation sentences with heatmaps")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  add_threads_flag(*cmd, f->threads, "all cores");
  return {cmd, [f] {
            set_num_threads(f->threads < 0 ? 0 : f->threads);
            write_report(f->run_dir, f->out, f->heatmaps);
            std::printf("wrote %s\n", f->out.empty() ? (f->run_dir + "/report.html").c_str() : f->out.c_str());
            return 0;
          }};
}

}  // namespace

Command add_report_command(CLI::App& root) { return add_report(root); }

}  // namespace xseq::cli
