#include "framework/profiler.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <vector>

namespace xseq::profiler {
namespace {

using Clock = std::chrono::steady_clock;

struct Counter {
  std::int64_t calls = 0;
  double forward = 0, backward = 0;
};

bool g_enabled = false;
Clock::time_point g_last_mark = Clock::now();
std::map<std::string, Counter>& counters() {
  static std::map<std::string, Counter> table;
  return table;
}

}  // namespace

void enable(bool on) {
  g_enabled = on;
  mark();
}
bool enabled() { return g_enabled; }

void reset() {
  counters().clear();
  mark();
}

void mark() { g_last_mark = Clock::now(); }

void record_forward(const char* op) {
  const Clock::time_point now = Clock::now();
  Counter& c = counters()[op];
  c.calls += 1;
  c.forward += std::chrono::duration<double>(now - g_last_mark).count();
  g_last_mark = now;
}

void record_backward(const char* op, double seconds) { counters()[op].backward += seconds; }

void record_phase(const char* name, double seconds) {
  Counter& c = counters()[name];
  c.calls += 1;
  c.forward += seconds;
}

std::string report(std::int64_t steps) {
  std::vector<std::pair<std::string, Counter>> rows(counters().begin(), counters().end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second.forward + a.second.backward > b.second.forward + b.second.backward;
  });
  double total = 0;
  for (const auto& r : rows) total += r.second.forward + r.second.backward;
  const double per = steps > 0 ? 1000.0 / double(steps) : 1000.0;
  std::string out = "| op | calls/step | forward ms/step | backward ms/step | total ms/step | share |\n"
                    "|---|---|---|---|---|---|\n";
  char line[256];
  for (const auto& [name, c] : rows) {
    const double sum = c.forward + c.backward;
    std::snprintf(line, sizeof line, "| %s | %.1f | %.2f | %.2f | %.2f | %.1f%% |\n", name.c_str(),
                  double(c.calls) / double(std::max<std::int64_t>(steps, 1)), c.forward * per, c.backward * per,
                  sum * per, total > 0 ? 100.0 * sum / total : 0.0);
    out += line;
  }
  std::snprintf(line, sizeof line, "| total | | | | %.2f | |\n", total * per);
  return out + line;
}

}  // namespace xseq::profiler
