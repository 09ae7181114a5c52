#include "eval/metrics.hpp"

#include <array>

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <map>
#include <unordered_map>

#include "datasets/utf8.hpp"
#include "framework/version.hpp"
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

namespace {

// The references of sentence s, one per stream; every stream as long as the hypotheses.
std::vector<std::string> references_of(const std::vector<std::vector<std::string>>& streams, std::size_t s) {
  std::vector<std::string> out;
  for (const auto& stream : streams) out.push_back(stream[s]);
  return out;
}

void check_streams(const char* metric, std::size_t hypotheses, const std::vector<std::vector<std::string>>& streams) {
  XSEQ_CHECK(!streams.empty(), metric, ": no references");
  for (std::size_t k = 0; k < streams.size(); ++k)
    XSEQ_CHECK(streams[k].size() == hypotheses, metric, ": ", hypotheses, " hypotheses but reference set ", k + 1,
               " has ", streams[k].size(), " lines");
}

using NgramCounts = std::map<std::vector<std::string>, std::int64_t>;

NgramCounts ngrams(const std::vector<std::string>& w, int n) {
  NgramCounts out;
  for (std::size_t i = 0; i + n <= w.size(); ++i) ++out[{w.begin() + std::ptrdiff_t(i), w.begin() + std::ptrdiff_t(i + n)}];
  return out;
}

// chrF's statistics of one hypothesis against one reference: per n, hypothesis
// n-grams, reference n-grams, matches.
constexpr int kChrOrder = 6;
using ChrStats = std::array<std::array<double, 3>, kChrOrder>;

std::vector<std::string> chrf_chars(const std::string& s) {
  std::vector<std::string> out;
  for (auto& cp : split_code_points(s))
    if (!python_space(cp)) out.push_back(std::move(cp));
  return out;
}

ChrStats chrf_stats(const std::vector<std::string>& h, const std::vector<std::string>& r) {
  ChrStats st{};
  for (int n = 1; n <= kChrOrder; ++n) {
    std::unordered_map<std::string, std::int64_t> hc, rc;
    auto gram = [n](const std::vector<std::string>& v, std::size_t i) {
      std::string g;
      for (int k = 0; k < n; ++k) g += v[i + static_cast<std::size_t>(k)];
      return g;
    };
    for (std::size_t i = 0; i + n <= h.size(); ++i) ++hc[gram(h, i)];
    for (std::size_t i = 0; i + n <= r.size(); ++i) ++rc[gram(r, i)];
    for (const auto& [g, count] : hc) {
      st[n - 1][0] += double(count);
      const auto it = rc.find(g);
      if (it != rc.end()) st[n - 1][2] += double(std::min(count, it->second));
    }
    for (const auto& entry : rc) st[n - 1][1] += double(entry.second);
  }
  return st;
}

// chrF2 of summed statistics (effective-order averaging, as sacreBLEU 2.x).
double chrf_score(const ChrStats& st) {
  constexpr double beta2 = 4.0;  // beta = 2
  double avg_prec = 0, avg_rec = 0;
  int effective = 0;
  for (int n = 0; n < kChrOrder; ++n) {
    if (st[n][0] > 0 && st[n][1] > 0) {
      avg_prec += st[n][2] / st[n][0];
      avg_rec += st[n][2] / st[n][1];
      ++effective;
    }
  }
  if (effective == 0) return 0.0;
  avg_prec /= effective;
  avg_rec /= effective;
  if (avg_prec + avg_rec == 0) return 0.0;
  return 100.0 * (1 + beta2) * avg_prec * avg_rec / (beta2 * avg_prec + avg_rec);
}

}  // namespace

double corpus_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references) {
  XSEQ_CHECK(hypotheses.size() == references.size(), "BLEU: ", hypotheses.size(), " hypotheses but ",
             references.size(), " references");
  return corpus_bleu(hypotheses, std::vector<std::vector<std::string>>{references});
}

// With several references, an n-gram's count is clipped by its largest count in
// any reference, and the brevity penalty uses the reference length closest to the
// hypothesis's (the shorter on a tie), as sacreBLEU does.
double corpus_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::vector<std::string>>& streams) {
  check_streams("BLEU", hypotheses.size(), streams);
  constexpr int N = 4;
  double correct[N] = {}, total[N] = {};
  double sys_len = 0, ref_len = 0;
  for (std::size_t s = 0; s < hypotheses.size(); ++s) {
    const auto hyp = words(tokenize_13a(rstrip(hypotheses[s])));
    std::vector<std::vector<std::string>> refs;
    for (const auto& r : references_of(streams, s)) refs.push_back(words(tokenize_13a(rstrip(r))));
    sys_len += double(hyp.size());
    std::size_t closest = refs[0].size();
    for (const auto& r : refs) {
      const auto d = [&](std::size_t len) { return len > hyp.size() ? len - hyp.size() : hyp.size() - len; };
      if (d(r.size()) < d(closest) || (d(r.size()) == d(closest) && r.size() < closest)) closest = r.size();
    }
    ref_len += double(closest);
    for (int n = 1; n <= N; ++n) {
      NgramCounts ref_counts;
      for (const auto& r : refs)
        for (const auto& [gram, count] : ngrams(r, n)) ref_counts[gram] = std::max(ref_counts[gram], count);
      for (const auto& [gram, count] : ngrams(hyp, n)) {
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
  return corpus_chrf(hypotheses, std::vector<std::vector<std::string>>{references});
}

// With several references, each sentence counts against the reference that gives
// it the best sentence-level chrF (the first on a tie), as sacreBLEU does.
double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::vector<std::string>>& streams) {
  check_streams("chrF", hypotheses.size(), streams);
  ChrStats total{};
  for (std::size_t s = 0; s < hypotheses.size(); ++s) {
    const auto h = chrf_chars(hypotheses[s]);
    ChrStats best{};
    double best_f = -1.0;
    for (const auto& r : references_of(streams, s)) {
      const ChrStats st = chrf_stats(h, chrf_chars(r));
      const double f = chrf_score(st);
      if (f > best_f) best_f = f, best = st;
    }
    for (int n = 0; n < kChrOrder; ++n)
      for (int k = 0; k < 3; ++k) total[n][k] += best[n][k];
  }
  return chrf_score(total);
}

std::string bleu_signature(std::size_t references) {
  return "nrefs:" + std::to_string(references) + "|case:mixed|eff:no|tok:13a|smooth:exp|version:xseq-" +
         XSEQ_VERSION_STRING;
}

std::string chrf_signature(std::size_t references) {
  return "nrefs:" + std::to_string(references) + "|case:mixed|eff:yes|nc:6|nw:0|space:no|version:xseq-" +
         XSEQ_VERSION_STRING;
}

std::string bleu_line(double bleu, std::size_t references) {
  char score[32];
  std::snprintf(score, sizeof score, "%.2f", bleu);
  return std::string("BLEU = ") + score + " " + bleu_signature(references);
}

std::string chrf_line(double chrf, std::size_t references) {
  char score[32];
  std::snprintf(score, sizeof score, "%.2f", chrf);
  return std::string("chrF2 = ") + score + " " + chrf_signature(references);
}

}  // namespace xseq
