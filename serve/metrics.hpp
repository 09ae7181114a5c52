// The server's counters and histograms, exposed as Prometheus text (GET /metrics).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace xseq::serve {

/// A Prometheus histogram: cumulative buckets, sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  /// Lines "name_bucket{le=...} n", "name_sum", "name_count" (labels: `{model="x"}` or "").
  std::string text(const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> counts_;  // one per bound, plus +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void request(int status, double seconds);  ///< xseq_requests_total{code}, xseq_request_duration_seconds
  void queue_wait(double seconds) { queue_wait_.observe(seconds); }
  void batch(std::int64_t sentences) { batch_size_.observe(double(sentences)); }
  void generated(std::int64_t tokens) { generated_ += std::uint64_t(tokens); }
  void queue_depth(const std::string& model, std::int64_t sentences);
  void model_loaded(const std::string& model, double seconds);
  /// Everything, in the Prometheus text format (version 0.0.4).
  std::string text() const;

 private:
  mutable std::mutex mutex_;
  std::map<int, std::uint64_t> requests_;
  std::map<std::string, std::int64_t> depth_;
  std::map<std::string, double> load_seconds_;
  Histogram duration_, queue_wait_, batch_size_;
  std::atomic<std::uint64_t> generated_{0};
};

}  // namespace xseq::serve
