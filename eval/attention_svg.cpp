#include "eval/attention_svg.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "datasets/utf8.hpp"

namespace xseq {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string json_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {
// Spaces are tokens for the char tokenizer: show them visibly.
std::string label(const std::string& token) { return token == " " ? "\xe2\x90\xa3" : token; }  // U+2423 OPEN BOX
}  // namespace

std::string attention_svg(const std::vector<std::string>& source, const std::vector<std::string>& output,
                          const std::vector<std::vector<float>>& rows, const std::string& title) {
  const int cell = 22;
  std::size_t longest_out = 1, longest_src = 1;
  for (const auto& t : output) longest_out = std::max(longest_out, split_code_points(label(t)).size());
  for (const auto& t : source) longest_src = std::max(longest_src, split_code_points(label(t)).size());
  const int left = 12 + 8 * static_cast<int>(std::min<std::size_t>(longest_out, 24));
  const int top = (title.empty() ? 12 : 34) + 8 * static_cast<int>(std::min<std::size_t>(longest_src, 24));
  const int width = left + cell * static_cast<int>(source.size()) + 12;
  const int height = top + cell * static_cast<int>(output.size()) + 12;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!title.empty()) svg << "<text x=\"8\" y=\"18\" font-weight=\"bold\">" << xml_escape(title) << "</text>\n";
  for (std::size_t j = 0; j < source.size(); ++j) {
    const int x = left + cell * static_cast<int>(j) + cell / 2 + 4;
    svg << "<text transform=\"translate(" << x << "," << top - 6 << ") rotate(-90)\">" << xml_escape(label(source[j]))
        << "</text>\n";
  }
  for (std::size_t i = 0; i < output.size(); ++i) {
    const int y = top + cell * static_cast<int>(i);
    svg << "<text x=\"" << left - 6 << "\" y=\"" << y + cell / 2 + 4 << "\" text-anchor=\"end\">"
        << xml_escape(label(output[i])) << "</text>\n";
    for (std::size_t j = 0; j < source.size(); ++j) {
      const float w = i < rows.size() && j < rows[i].size() ? std::clamp(rows[i][j], 0.0f, 1.0f) : 0.0f;
      // White (255,255,255) to dark blue (8,48,107).
      const int r = static_cast<int>(255 - w * (255 - 8)), g = static_cast<int>(255 - w * (255 - 48)),
                b = static_cast<int>(255 - w * (255 - 107));
      char fill[16];
      std::snprintf(fill, sizeof fill, "#%02x%02x%02x", r, g, b);
      char weight[16];
      std::snprintf(weight, sizeof weight, "%.3f", w);
      svg << "<rect x=\"" << left + cell * static_cast<int>(j) << "\" y=\"" << y << "\" width=\"" << cell
          << "\" height=\"" << cell << "\" fill=\"" << fill << "\" stroke=\"#eeeeee\"><title>"
          << xml_escape(label(output[i])) << " \xe2\x86\x90 " << xml_escape(label(source[j])) << ": " << weight
          << "</title></rect>\n";
    }
  }
  svg << "</svg>\n";
  return svg.str();
}

std::string attention_heads_svg(const std::vector<std::string>& source, const std::vector<std::string>& output,
                                const std::vector<std::vector<std::vector<float>>>& heads, const std::string& title) {
  std::string body;
  int x = 0, height = 0;
  for (std::size_t h = 0; h < heads.size(); ++h) {
    std::string one = attention_svg(source, output, heads[h], title + (title.empty() ? "" : ", ") + "head " + std::to_string(h + 1));
    const int w = std::stoi(one.substr(one.find("width=\"") + 7));
    height = std::max(height, std::stoi(one.substr(one.find("height=\"") + 8)));
    // Nested <svg> elements place each head's heatmap at its own offset.
    one.replace(0, std::string("<svg xmlns=\"http://www.w3.org/2000/svg\"").size(), "<svg x=\"" + std::to_string(x) + "\" y=\"0\"");
    body += one;
    x += w;
  }
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(x) + "\" height=\"" +
         std::to_string(height) + "\">\n" + body + "</svg>\n";
}

std::string attention_json(const std::vector<std::string>& source, const std::vector<std::string>& output,
                           const std::vector<std::vector<float>>& rows) {
  nlohmann::ordered_json line;
  line["source"] = source;
  line["output"] = output;
  auto& attention = line["attention"] = nlohmann::ordered_json::array();
  for (const auto& row : rows) {
    auto& out = attention.emplace_back(nlohmann::ordered_json::array());
    for (float w : row) out.push_back(std::round(double(w) * 1e4) / 1e4);  // 4 decimals are plenty for a heatmap
  }
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace xseq
