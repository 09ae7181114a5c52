#include "serve/metrics.hpp"

#include <cstdio>

namespace xseq::serve {
namespace {

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string with_label(const std::string& labels, const std::string& extra) {
  if (labels.empty()) return "{" + extra + "}";
  return labels.substr(0, labels.size() - 1) + "," + extra + "}";
}

const std::vector<double> kSeconds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
const std::vector<double> kSizes{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

std::string Histogram::text(const std::string& name, const std::string& labels) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    out += name + "_bucket" + with_label(labels, "le=\"" + le + "\"") + " " + std::to_string(cumulative) + "\n";
  }
  out += name + "_sum" + labels + " " + number(sum_) + "\n";
  out += name + "_count" + labels + " " + std::to_string(count_) + "\n";
  return out;
}

Metrics::Metrics() : duration_(kSeconds), queue_wait_(kSeconds), batch_size_(kSizes) {}

void Metrics::request(int status, double seconds) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[status];
  }
  duration_.observe(seconds);
}

void Metrics::queue_depth(const std::string& model, std::int64_t sentences) {
  std::lock_guard<std::mutex> lock(mutex_);
  depth_[model] = sentences;
}

void Metrics::model_loaded(const std::string& model, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  load_seconds_[model] = seconds;
}

std::string Metrics::text() const {
  std::string out;
  out += "# HELP xseq_requests_total HTTP requests answered, by status code.\n# TYPE xseq_requests_total counter\n";
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [code, n] : requests_)
      out += "xseq_requests_total{code=\"" + std::to_string(code) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP xseq_request_duration_seconds Time from a request's arrival to its answer.\n"
         "# TYPE xseq_request_duration_seconds histogram\n";
  out += duration_.text("xseq_request_duration_seconds", "");
  out += "# HELP xseq_queue_wait_seconds Time a sentence waited in its model's queue before decoding.\n"
         "# TYPE xseq_queue_wait_seconds histogram\n";
  out += queue_wait_.text("xseq_queue_wait_seconds", "");
  out += "# HELP xseq_batch_size Sentences per decoded batch (across requests).\n# TYPE xseq_batch_size histogram\n";
  out += batch_size_.text("xseq_batch_size", "");
  out += "# HELP xseq_queue_depth Sentences waiting to be decoded, by model.\n# TYPE xseq_queue_depth gauge\n";
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [model, n] : depth_) out += "xseq_queue_depth{model=\"" + model + "\"} " + std::to_string(n) + "\n";
    out += "# HELP xseq_model_load_seconds Seconds the last (re)load of a model took.\n"
           "# TYPE xseq_model_load_seconds gauge\n";
    for (const auto& [model, s] : load_seconds_) out += "xseq_model_load_seconds{model=\"" + model + "\"} " + number(s) + "\n";
  }
  out += "# HELP xseq_generated_tokens_total Output tokens generated (</s> included).\n"
         "# TYPE xseq_generated_tokens_total counter\n";
  out += "xseq_generated_tokens_total " + std::to_string(generated_.load()) + "\n";
  return out;
}

}  // namespace xseq::serve
