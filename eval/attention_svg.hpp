// Attention heatmaps as standalone SVG (no scripts, no external resources) and
// attention matrices as JSON lines.
#pragma once

#include <string>
#include <vector>

namespace xseq {

/// rows[i][j] = weight of output token i on source token j (each row sums to ~1).
/// Source tokens label the columns (top), output tokens the rows (left); a cell's
/// shade is its weight (white 0 .. dark blue 1), with the value in its tooltip.
std::string attention_svg(const std::vector<std::string>& source, const std::vector<std::string>& output,
                          const std::vector<std::vector<float>>& rows, const std::string& title = "");

/// One heatmap per head, side by side in one SVG: heads[h][i][j] is head h's
/// weight of output token i on source token j.
std::string attention_heads_svg(const std::vector<std::string>& source, const std::vector<std::string>& output,
                                const std::vector<std::vector<std::vector<float>>>& heads, const std::string& title = "");

/// {"source": [...], "output": [...], "attention": [[...], ...]} on one line.
std::string attention_json(const std::vector<std::string>& source, const std::vector<std::string>& output,
                           const std::vector<std::vector<float>>& rows);

/// Text safe inside XML/HTML.
std::string xml_escape(const std::string& s);
/// A JSON string literal.
std::string json_string(const std::string& s);

}  // namespace xseq
