// `xseq report RUN_DIR`: one self-contained HTML page (inline SVG, no scripts,
// no network resources) with the training and validation curves from
// log.jsonl, the run's config, its final metrics and attention heatmaps for a
// few validation sentences.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace xseq {

/// One flat JSON object of log.jsonl: numeric (and boolean) fields by name.
std::map<std::string, double> parse_log_line(const std::string& line);

/// A line chart of one or more series sharing the x axis, as inline SVG.
std::string line_chart_svg(const std::string& title, const std::vector<double>& x,
                           const std::vector<std::pair<std::string, std::vector<double>>>& series);

/// Writes the report for `run_dir` to `out` (default <run_dir>/report.html).
void write_report(const std::string& run_dir, const std::string& out, int heatmaps = 3);

}  // namespace xseq
