#include "eval/report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "eval/attention_svg.hpp"
#include "decode/decoding.hpp"
#include "config/prepared_data.hpp"
#include "decode/trained_model.hpp"

namespace xseq {

std::map<std::string, double> parse_log_line(const std::string& line) {
  // log.jsonl: one flat object per line; numbers and booleans are kept, strings
  // and nulls (non-finite values) skipped. A broken line (a run killed while
  // writing it) gives an empty map.
  std::map<std::string, double> out;
  const auto json = nlohmann::json::parse(line, nullptr, false);
  if (!json.is_object()) return out;
  for (const auto& [key, value] : json.items()) {
    if (value.is_number()) out[key] = value.get<double>();
    else if (value.is_boolean()) out[key] = value.get<bool>() ? 1.0 : 0.0;
  }
  return out;
}

std::string line_chart_svg(const std::string& title, const std::vector<double>& x,
                           const std::vector<std::pair<std::string, std::vector<double>>>& series) {
  const double W = 420, H = 220, L = 56, R = 12, T = 28, B = 34;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (double v : x) x0 = std::min(x0, v), x1 = std::max(x1, v);
  for (const auto& s : series)
    for (double v : s.second)
      if (std::isfinite(v)) y0 = std::min(y0, v), y1 = std::max(y1, v);
  if (x.empty() || y0 > y1) return "<p>" + xml_escape(title) + ": no data</p>";
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + (y0 == 0 ? 1 : std::abs(y0) * 0.1), y0 -= (y1 - y0);
  auto px = [&](double v) { return L + (v - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double v) { return T + (1 - (v - y0) / (y1 - y0)) * (H - T - B); };
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};
  std::ostringstream svg;
  char buf[128];
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
      << "\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg << "<text x=\"" << L << "\" y=\"16\" font-weight=\"bold\">" << xml_escape(title) << "</text>\n";
  svg << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B
      << "\" fill=\"none\" stroke=\"#999\"/>\n";
  for (int k = 0; k <= 4; ++k) {  // y ticks
    const double v = y0 + (y1 - y0) * k / 4;
    std::snprintf(buf, sizeof buf, "%.4g", v);
    svg << "<text x=\"" << L - 4 << "\" y=\"" << py(v) + 4 << "\" text-anchor=\"end\">" << buf << "</text>\n";
  }
  for (int k = 0; k <= 4; ++k) {  // x ticks
    const double v = x0 + (x1 - x0) * k / 4;
    std::snprintf(buf, sizeof buf, "%.0f", v);
    svg << "<text x=\"" << px(v) << "\" y=\"" << H - B + 14 << "\" text-anchor=\"middle\">" << buf << "</text>\n";
  }
  svg << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 4 << "\" text-anchor=\"middle\">step</text>\n";
  for (std::size_t s = 0; s < series.size(); ++s) {
    std::string points;
    for (std::size_t i = 0; i < x.size() && i < series[s].second.size(); ++i) {
      if (!std::isfinite(series[s].second[i])) continue;
      std::snprintf(buf, sizeof buf, "%.1f,%.1f ", px(x[i]), py(series[s].second[i]));
      points += buf;
    }
    const char* color = colors[s % 5];
    svg << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.5\" points=\"" << points << "\"/>\n";
    if (series.size() > 1)
      svg << "<text x=\"" << W - R - 4 << "\" y=\"" << T + 14 + 13 * static_cast<double>(s) << "\" text-anchor=\"end\" fill=\""
          << color << "\">" << xml_escape(series[s].first) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

void write_report(const std::string& run_dir, const std::string& out_path, int heatmaps) {
  namespace fs = std::filesystem;
  const fs::path dir(run_dir);
  std::ifstream log(dir / "log.jsonl");
  XSEQ_CHECK(log.is_open(), "xseq report: '", (dir / "log.jsonl").string(), "' is missing (is '", run_dir,
             "' a run directory?)");
  std::vector<double> train_x, loss, lr, grad_norm, valid_x;
  std::map<std::string, std::vector<double>> valid;
  std::map<std::string, double> final_metrics;
  std::string final_label;
  std::string line;
  while (std::getline(log, line)) {
    const auto m = parse_log_line(line);
    if (!m.count("step")) continue;
    if (m.count("test")) {
      final_metrics = m;
      final_label = "test set, best.h5";
    } else if (m.count("valid")) {
      valid_x.push_back(m.at("step"));
      for (const auto& [k, v] : m)
        if (k != "step" && k != "valid") valid[k].push_back(v);
      if (final_label.rfind("test", 0) != 0) {
        final_metrics = m;
        final_label = "last validation";
      }
    } else if (m.count("loss")) {
      train_x.push_back(m.at("step"));
      loss.push_back(m.at("loss"));
      lr.push_back(m.count("lr") ? m.at("lr") : NAN);
      grad_norm.push_back(m.count("grad_norm") ? m.at("grad_norm") : NAN);
    }
  }
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>xseq run " << xml_escape(run_dir)
       << "</title>\n<style>body{font-family:sans-serif;margin:24px;max-width:1400px}"
          ".charts svg{margin:4px;border:1px solid #ddd}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}pre{background:#f6f6f6;padding:8px}"
          ".heat svg{margin:6px;border:1px solid #ddd}</style></head><body>\n";
  html << "<h1>xseq run: " << xml_escape(run_dir) << "</h1>\n";
  html << "<h2>Training</h2>\n<div class=\"charts\">\n";
  html << line_chart_svg("training loss", train_x, {{"loss", loss}});
  html << line_chart_svg("learning rate", train_x, {{"lr", lr}});
  html << line_chart_svg("gradient norm (before clipping)", train_x, {{"grad_norm", grad_norm}});
  html << "</div>\n<h2>Validation</h2>\n<div class=\"charts\">\n";
  for (const char* key : {"loss", "exact_match", "token_accuracy", "bleu", "chrf", "token_error_rate"})
    if (valid.count(key)) html << line_chart_svg(std::string("validation ") + key, valid_x, {{key, valid.at(key)}});
  html << "</div>\n<h2>Final metrics (" << xml_escape(final_label) << ")</h2>\n<table>\n";
  for (const auto& [k, v] : final_metrics) {
    if (k == "test" || k == "valid") continue;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    html << "<tr><th>" << xml_escape(k) << "</th><td>" << buf << "</td></tr>\n";
  }
  html << "</table>\n";

  // Heatmaps: the best checkpoint on the first validation sentences.
  const fs::path ckpt = fs::exists(dir / "best.h5") ? dir / "best.h5" : dir / "last.h5";
  if (heatmaps > 0 && fs::exists(ckpt)) {
    const TrainedModel trained = load_trained_model(ckpt.string());
    const TextPipeline& pipeline = trained.pipeline;
    const PreparedData data = prepare_data(trained.config.data, false, &pipeline);
    Seq2SeqModel& model = *trained.model;
    std::vector<std::int64_t> rows;
    for (std::int64_t i = 0; i < std::min<std::int64_t>(heatmaps, data.valid.size()); ++i) rows.push_back(i);
    const Batch b = make_batch(data.valid, rows);
    DecodeOptions o;
    o.keep_attention = true;
    const auto hyps = greedy_decode(model, b.source, b.source_lengths, o);
    html << "<h2>Attention (" << xml_escape(ckpt.filename().string()) << ", validation sentences, greedy)</h2>\n"
         << "<div class=\"heat\">\n";
    for (std::size_t r = 0; r < hyps.size(); ++r) {
      const std::int64_t pair = data.valid.origin_index(b.indices[r]);
      const auto source = pipeline.tokenizer->encode(data.valid_text.source(pair));
      std::vector<std::string> output;
      for (auto id : hyps[r].tokens) output.push_back(pipeline.target_vocab.token(id));
      if (hyps[r].ended) output.push_back("</s>");
      std::vector<std::vector<float>> weights;
      for (const auto& row : hyps[r].attention)
        weights.emplace_back(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(std::min(row.size(), source.size())));
      html << attention_svg(source, output, weights, "reference: " + std::string(data.valid_text.target(pair)));
    }
    html << "</div>\n";
  }
  std::ifstream config_text(dir / "config.toml");
  std::stringstream cfg;
  cfg << config_text.rdbuf();
  html << "<h2>Config</h2>\n<pre>" << xml_escape(cfg.str()) << "</pre>\n</body></html>\n";
  const std::string out = out_path.empty() ? (dir / "report.html").string() : out_path;
  std::ofstream(out) << html.str();
  XSEQ_CHECK(fs::exists(out), "xseq report: cannot write '", out, "'");
}

}  // namespace xseq
