#include "eval/metrics.hpp"

#include <cmath>
#include <cstdint>
#include <map>
#include <unordered_map>

#include "datasets/utf8.hpp"
#include "framework/error.hpp"

namespace xseq {
namespace {

// Python's str.isspace() code points (str.split() and str.rstrip() use them).
bool python_space(const std::string& cp) {
  static const char* const spaces[] = {" ", "\t", "\n", "\v", "\f", "\r", "\x1c", "\x1d", "\x1e", "\x1f",
                                       "\xc2\x85", "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\xa8", "\xe2\x80\xa9",
                                       "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80"};
  for (const char* s : spaces)
    if (cp == s) return true;
  // U+2000 .. U+200A
  return cp.size() == 3 && cp[0] == '\xe2' && cp[1] == '\x80' && static_cast<unsigned char>(cp[2]) >= 0x80 &&
         static_cast<unsigned char>(cp[2]) <= 0x8a;
}

// Python's " ".join(s.split()), on code points.
std::string collapse_spaces(const std::string& s) {
  std::string out;
  bool pending = false;
  for (const auto& cp : split_code_points(s)) {
    if (python_space(cp)) {
      pending = !out.empty();
      continue;
    }
    if (pending) out += ' ';
    pending = false;
    out += cp;
  }
  return out;
}

std::string rstrip(const std::string& s) {
  auto cps = split_code_points(s);
  while (!cps.empty() && python_space(cps.back())) cps.pop_back();
  std::string out;
  for (const auto& cp : cps) out += cp;
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

bool digit(char c) { return c >= '0' && c <= '9'; }

// The ASCII class [\{-\~\[-\` -\&\(-\+\:-\@\/] of the 13a rules.
bool split_punct(char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
         (c >= ':' && c <= '@') || c == '/';
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    const std::size_t end = s.find(' ', start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (s.empty()) out.clear();
  return out;
}

}  // namespace

std::string tokenize_13a(const std::string& input) {
  std::string line = replace_all(replace_all(replace_all(input, "<skipped>", ""), "-\n", ""), "\n", " ");
  if (line.find('&') != std::string::npos) {
    line = replace_all(line, "&quot;", "\"");
    line = replace_all(line, "&amp;", "&");
    line = replace_all(line, "&lt;", "<");
    line = replace_all(line, "&gt;", ">");
  }
  line = " " + line + " ";
  // Each rule is a left-to-right, non-overlapping substitution, like re.sub.
  std::string a;
  for (char c : line) {
    if (split_punct(c)) a += std::string(" ") + c + " ";
    else a += c;
  }
  std::string b;  // ([^0-9])([\.,]) -> \1 \2
  for (std::size_t i = 0; i < a.size();) {
    if (i + 1 < a.size() && !digit(a[i]) && (a[i + 1] == '.' || a[i + 1] == ',')) {
      b += a[i];
      b += ' ';
      b += a[i + 1];
      b += ' ';
      i += 2;
    } else {
      b += a[i++];
    }
  }
  std::string c;  // ([\.,])([^0-9]) -> " \1 \2"
  for (std::size_t i = 0; i < b.size();) {
    if (i + 1 < b.size() && (b[i] == '.' || b[i] == ',') && !digit(b[i + 1])) {
      c += ' ';
      c += b[i];
      c += ' ';
      c += b[i + 1];
      i += 2;
    } else {
      c += b[i++];
    }
  }
  std::string d;  // ([0-9])(-) -> \1 \2 (with a space after)
  for (std::size_t i = 0; i < c.size();) {
    if (i + 1 < c.size() && digit(c[i]) && c[i + 1] == '-') {
      d += c[i];
      d += " - ";
      i += 2;
    } else {
      d += c[i++];
    }
  }
  return collapse_spaces(d);
}

double corpus_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references) {
  XSEQ_CHECK(hypotheses.size() == references.size(), "BLEU: ", hypotheses.size(), " hypotheses but ",
             references.size(), " references");
  constexpr int N = 4;
  double correct[N] = {}, total[N] = {};
  double sys_len = 0, ref_len = 0;
  for (std::size_t s = 0; s < hypotheses.size(); ++s) {
    const auto hyp = words(tokenize_13a(rstrip(hypotheses[s])));
    const auto ref = words(tokenize_13a(rstrip(references[s])));
    sys_len += double(hyp.size());
    ref_len += double(ref.size());
    for (int n = 1; n <= N; ++n) {
      std::map<std::vector<std::string>, std::int64_t> ref_counts, hyp_counts;
      for (std::size_t i = 0; i + n <= ref.size(); ++i) ++ref_counts[{ref.begin() + i, ref.begin() + i + n}];
      for (std::size_t i = 0; i + n <= hyp.size(); ++i) ++hyp_counts[{hyp.begin() + i, hyp.begin() + i + n}];
      for (const auto& [gram, count] : hyp_counts) {
        const auto it = ref_counts.find(gram);
        correct[n - 1] += double(std::min(count, it == ref_counts.end() ? 0 : it->second));
      }
      total[n - 1] += double(hyp.size() >= static_cast<std::size_t>(n) ? hyp.size() - n + 1 : 0);
    }
  }
  double bp = 1.0;
  if (sys_len < ref_len) bp = sys_len > 0 ? std::exp(1.0 - ref_len / sys_len) : 0.0;
  bool any = false;
  for (double c : correct) any = any || c > 0;
  if (!any) return 0.0;
  double precisions[N] = {};
  double smooth = 1.0;
  for (int n = 0; n < N; ++n) {
    if (total[n] == 0) break;
    if (correct[n] == 0) {
      smooth *= 2;  // sacreBLEU's default "exp" smoothing (mteval-v13a's NIST method)
      precisions[n] = 100.0 / (smooth * total[n]);
    } else {
      precisions[n] = 100.0 * correct[n] / total[n];
    }
  }
  double log_sum = 0;
  for (double p : precisions) log_sum += p > 0 ? std::log(p) : -9999999999.0;
  return bp * std::exp(log_sum / N);
}

double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references) {
  XSEQ_CHECK(hypotheses.size() == references.size(), "chrF: ", hypotheses.size(), " hypotheses but ",
             references.size(), " references");
  constexpr int N = 6;
  constexpr double beta2 = 4.0;  // beta = 2
  double n_hyp[N] = {}, n_ref[N] = {}, n_match[N] = {};
  auto chars = [](const std::string& s) {
    std::vector<std::string> out;
    for (auto& cp : split_code_points(s))
      if (!python_space(cp)) out.push_back(std::move(cp));
    return out;
  };
  for (std::size_t s = 0; s < hypotheses.size(); ++s) {
    const auto h = chars(hypotheses[s]), r = chars(references[s]);
    for (int n = 1; n <= N; ++n) {
      std::unordered_map<std::string, std::int64_t> hc, rc;
      auto gram = [n](const std::vector<std::string>& v, std::size_t i) {
        std::string g;
        for (int k = 0; k < n; ++k) g += v[i + static_cast<std::size_t>(k)];
        return g;
      };
      for (std::size_t i = 0; i + n <= h.size(); ++i) ++hc[gram(h, i)];
      for (std::size_t i = 0; i + n <= r.size(); ++i) ++rc[gram(r, i)];
      for (const auto& [g, count] : hc) {
        n_hyp[n - 1] += double(count);
        const auto it = rc.find(g);
        if (it != rc.end()) n_match[n - 1] += double(std::min(count, it->second));
      }
      for (const auto& entry : rc) n_ref[n - 1] += double(entry.second);
    }
  }
  double avg_prec = 0, avg_rec = 0;
  int effective = 0;
  for (int n = 0; n < N; ++n) {
    if (n_hyp[n] > 0 && n_ref[n] > 0) {
      avg_prec += n_match[n] / n_hyp[n];
      avg_rec += n_match[n] / n_ref[n];
      ++effective;
    }
  }
  if (effective == 0) return 0.0;
  avg_prec /= effective;
  avg_rec /= effective;
  if (avg_prec + avg_rec == 0) return 0.0;
  return 100.0 * (1 + beta2) * avg_prec * avg_rec / (beta2 * avg_prec + avg_rec);
}

}  // namespace xseq
