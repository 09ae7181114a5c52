// Times xseq::Translator::translate on the lines of a file: the C++ side of
// bench/python_overhead.sh (the Python side times xseq.Translator.translate the
// same way). Prints one JSON object with the median of REPS calls.
//   build/bench_translator CHECKPOINT LINES_FILE [REPS=5] [BATCH=32] [THREADS=2]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "decode/translator.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_translator CHECKPOINT LINES_FILE [REPS=5] [BATCH=32] [THREADS=2]\n");
    return 2;
  }
  const bool each = argc > 3 && std::string(argv[3]) == "each";
  const int reps = argc > 3 && !each ? std::atoi(argv[3]) : 5;
  xseq::TranslatorOptions options;
  options.batch_size = argc > 4 ? std::atoi(argv[4]) : 32;
  options.threads = argc > 5 ? std::atoi(argv[5]) : 2;
  const xseq::Translator translator(argv[1], options);
  std::ifstream in(argv[2]);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  translator.translate(std::vector<std::string>(lines.begin(), lines.begin() + std::min<std::size_t>(lines.size(), 32)));
  std::vector<double> ms;
  if (each) {
    for (const auto& line : lines) {
      const auto start = std::chrono::steady_clock::now();
      translator.translate({line});
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("{\"alone_p50_ms\": %.3f, \"alone_p99_ms\": %.3f}\n", ms[ms.size() / 2], ms[ms.size() * 99 / 100]);
    return 0;
  }
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    const auto out = translator.translate(lines);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    if (out.size() != lines.size()) return 1;
  }
  std::sort(ms.begin(), ms.end());
  std::printf("{\"api\": \"c++\", \"sentences\": %zu, \"median_ms\": %.2f}\n", lines.size(), ms[ms.size() / 2]);
  return 0;
}
