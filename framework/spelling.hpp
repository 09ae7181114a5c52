// "Did you mean": the edit distance between two names, shared by every error
// that suggests the closest known key, option or name.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

namespace xseq {

/// Levenshtein distance between two strings (bytes).
inline std::size_t spelling_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace xseq
