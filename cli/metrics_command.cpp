// xseq metrics: BLEU and chrF of hypothesis files against reference files, with
// sacreBLEU-style signatures, without a checkpoint (eval/metrics.hpp).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

#include "cli/command.hpp"
#include "datasets/utf8.hpp"
#include "eval/metrics.hpp"

namespace xseq::cli {
namespace {

struct MetricsFlags {
  std::string hyps;
  std::vector<std::string> refs;
  bool json = false;
};

// The lines of a text file (UTF-8 checked, a final CR dropped), naming the file on errors.
std::vector<std::string> read_lines(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  XSEQ_CHECK(in.is_open(), "xseq metrics: cannot open ", flag, " '", path, "'");
  std::vector<std::string> lines;
  std::string line;
  for (std::int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    check_text_line(line, path, n);
    lines.push_back(line);
  }
  XSEQ_CHECK(!in.bad(), "xseq metrics: reading '", path, "' failed");
  return lines;
}

int metrics(const MetricsFlags& f) {
  const std::vector<std::string> hyps = read_lines(f.hyps, "--hyps");
  std::vector<std::vector<std::string>> streams;
  for (const auto& r : f.refs) {
    streams.push_back(read_lines(r, "--refs"));
    XSEQ_CHECK(streams.back().size() == hyps.size(), "xseq metrics: --hyps '", f.hyps, "' has ", hyps.size(),
               " lines but --refs '", r, "' has ", streams.back().size());
  }
  const double bleu = corpus_bleu(hyps, streams), chrf = corpus_chrf(hyps, streams);
  if (f.json) {
    const nlohmann::ordered_json out{{"bleu", bleu},
                                     {"bleu_signature", bleu_signature(streams.size())},
                                     {"chrf", chrf},
                                     {"chrf_signature", chrf_signature(streams.size())},
                                     {"sentences", hyps.size()}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%s\n%s\n", bleu_line(bleu, streams.size()).c_str(), chrf_line(chrf, streams.size()).c_str());
  }
  return 0;
}

}  // namespace

Command add_metrics_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("metrics", "BLEU and chrF of hypothesis files against references (no checkpoint)");
  cmd->footer(
      "Scores --hyps (one sentence per line) against one or more --refs files of as many lines, as\n"
      "sacreBLEU 2.x does by default (BLEU: 13a tokenisation, exp smoothing; chrF2: character 6-grams)\n"
      "and prints the scores with their signatures, e.g.\n"
      "  BLEU = 53.73 nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:xseq-0.3.0\n"
      "  chrF2 = 61.02 nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:xseq-0.3.0\n"
      "(the values equal sacreBLEU 2.6.0's). `xseq eval --hyps FILE` writes hypotheses to score.");
  auto f = std::make_shared<MetricsFlags>();
  cmd->add_option("--hyps", f->hyps, "hypotheses, one per line")->required()->check(CLI::ExistingFile);
  cmd->add_option("--refs", f->refs, "references, one per line; repeat for several reference sets")
      ->required()
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
  cmd->add_flag("--json", f->json, "print one JSON object (bleu, bleu_signature, chrf, chrf_signature, sentences)");
  return {cmd, [f] { return metrics(*f); }};
}

}  // namespace xseq::cli
