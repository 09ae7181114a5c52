#include "train/distributed_training.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "framework/error.hpp"

namespace xseq {
namespace {

// FNV-1a over 64-bit words (the tail byte by byte): fast enough for parameters.
std::uint64_t fnv(const void* data, std::size_t bytes, std::uint64_t h = 1469598103934665603ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, 8);
    h = (h ^ word) * 1099511628211ull;
  }
  for (; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

std::string hex(std::uint64_t h) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string join(const std::vector<std::pair<std::string, std::string>>& fingerprints) {
  std::string out;
  for (const auto& [what, value] : fingerprints) out += what + "\t" + value + "\n";
  return out;
}

// The names whose fingerprints differ between two joined lists.
std::string differences(const std::string& mine, const std::string& theirs) {
  std::istringstream a(mine), b(theirs);
  std::string la, lb, out;
  while (std::getline(a, la) && std::getline(b, lb))
    if (la != lb) out += (out.empty() ? "" : ", ") + la.substr(0, la.find('\t'));
  return out.empty() ? "what is checked" : out;
}

constexpr std::size_t kBucketFloats = std::size_t(1) << 20;  // 4 MB

}  // namespace

void DataParallel::check_same_run(const std::vector<std::pair<std::string, std::string>>& fingerprints) const {
  if (size() == 1) return;
  const std::vector<std::string> all = comm_.gather_all(join(fingerprints));
  std::ostringstream msg;
  for (int r = 1; r < size(); ++r) {
    if (all[static_cast<std::size_t>(r)] == all[0]) continue;
    msg << (msg.tellp() > 0 ? "; " : "") << "rank " << r << " differs from rank 0 in: "
        << differences(all[0], all[static_cast<std::size_t>(r)]);
  }
  XSEQ_CHECK(msg.tellp() == 0, "the ranks of this job do not run the same training: ", msg.str(),
             " (start every rank with the same binary, config and data files)");
}

void DataParallel::plan_buckets(const std::vector<Variable>& params) {
  buckets_.clear();
  bucket_of_.clear();
  // Newest layers first: backward produces their gradients first.
  for (std::size_t i = params.size(); i-- > 0;) {
    const std::size_t n = static_cast<std::size_t>(params[i].numel());
    if (buckets_.empty() || buckets_.back().data.size() + n > kBucketFloats) buckets_.emplace_back();
    buckets_.back().params.push_back(i);
    buckets_.back().data.resize(buckets_.back().data.size() + n);
    bucket_of_[params[i].impl()] = buckets_.size() - 1;
  }
  const char* overlap = std::getenv("XSEQ_ALLREDUCE_OVERLAP");
  overlap_ = !(overlap && std::string(overlap) == "0");
}

void DataParallel::start_bucket(std::size_t b, const std::vector<Variable>& params) {
  Bucket& bucket = buckets_[b];
  if (bucket.started) return;
  if (std::none_of(buckets_.begin(), buckets_.end(), [](const Bucket& x) { return x.started; }))
    first_start_ = std::chrono::steady_clock::now();
  float* out = bucket.data.data();
  for (std::size_t i : bucket.params) {
    const std::size_t n = static_cast<std::size_t>(params[i].numel());
    // A parameter without a gradient here may have one on another rank: it adds zeros.
    if (params[i].has_grad()) std::memcpy(out, params[i].grad().data(), n * sizeof(float));
    else std::memset(out, 0, n * sizeof(float));
    out += n;
  }
  comm_.start_sum(bucket.data.data(), bucket.data.size());
  bucket.started = true;
}

void DataParallel::backward_with_sums(Variable& loss, const std::vector<Variable>& params) {
  if (size() == 1) return loss.backward();
  if (buckets_.empty()) plan_buckets(params);
  if (!overlap_) return loss.backward();
  for (Bucket& bucket : buckets_) bucket.waiting = bucket.params.size();
  const LeafGradientHookScope scope([&](const Variable& leaf) {
    const auto it = bucket_of_.find(leaf.impl());
    if (it == bucket_of_.end()) return;
    if (--buckets_[it->second].waiting == 0) {
      start_bucket(it->second, params);
      started_bytes_ += double(buckets_[it->second].data.size() * sizeof(float));
    }
    comm_.progress();
  });
  loss.backward();
}

void DataParallel::sum_gradients(const std::vector<Variable>& params) {
  if (size() == 1) return;
  if (buckets_.empty()) plan_buckets(params);
  double bytes = 0;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    start_bucket(b, params);  // the ones backward did not finish (or all, without overlap)
    bytes += double(buckets_[b].data.size() * sizeof(float));
  }
  const auto wait = std::chrono::steady_clock::now();
  comm_.finish_sums();
  const auto end = std::chrono::steady_clock::now();
  for (Bucket& bucket : buckets_) {
    const float* in = bucket.data.data();
    for (std::size_t i : bucket.params) {
      const std::size_t n = static_cast<std::size_t>(params[i].numel());
      bool any = params[i].has_grad();
      for (std::size_t k = 0; k < n && !any; ++k) any = in[k] != 0.0f;
      if (any) std::memcpy(params[i].grad_buffer().data(), in, n * sizeof(float));
      in += n;
    }
    bucket.started = false;
  }
  last_sum_bytes_ = bytes;
  last_sum_ms_ = std::chrono::duration<double, std::milli>(end - first_start_).count();
  last_wait_ms_ = std::chrono::duration<double, std::milli>(end - wait).count();
  last_overlap_ = bytes > 0 ? started_bytes_ / bytes : 0.0;
  started_bytes_ = 0;
}

void DataParallel::check_replicas(const std::vector<Variable>& params, const Optimizer* optimizer,
                                  std::int64_t step) const {
  if (size() == 1) return;
  std::uint64_t h = 1469598103934665603ull;
  for (const Variable& p : params) h = fnv(p.value().data(), static_cast<std::size_t>(p.numel()) * sizeof(float), h);
  if (optimizer)
    for (const Tensor* t : optimizer->state_tensors())
      h = fnv(t->data(), static_cast<std::size_t>(t->numel()) * sizeof(float), h);
  const std::vector<std::string> all = comm_.gather_all(hex(h));
  for (int r = 1; r < size(); ++r)
    XSEQ_CHECK(all[static_cast<std::size_t>(r)] == all[0], "after step ", step, " the parameters or optimizer state of rank ",
               r, " differ from rank 0's (hash ", all[static_cast<std::size_t>(r)], " vs ", all[0],
               "): the replicas diverged, a bug; please report it with the config");
}

BatchRngStreams::BatchRngStreams(Module& model, std::int64_t batches_per_update) : batches_(batches_per_update) {
  if (batches_ <= 1) return;
  for (const auto& [name, rng] : model.named_rngs()) {
    rngs_.push_back(rng);
    base_.push_back(rng->counter());
  }
}

void BatchRngStreams::enter(std::int64_t j) {
  for (std::size_t i = 0; i < rngs_.size(); ++i)
    rngs_[i]->set_state(rngs_[i]->seed(), base_[i] + std::uint64_t(j) * kStride);
}

void BatchRngStreams::finish() { enter(batches_); }

std::string fingerprint_text(const std::string& text) { return hex(fnv(text.data(), text.size())); }

std::string fingerprint_corpus(const TokenizedCorpus& corpus) {
  std::uint64_t h = 1469598103934665603ull;
  std::vector<std::int32_t> ids;
  for (const IdStore* side : {&corpus.source(), &corpus.target()}) {
    for (std::int64_t i = 0; i < side->sentences(); ++i) {
      ids.resize(static_cast<std::size_t>(side->length(i)) + 1);
      ids[0] = static_cast<std::int32_t>(side->length(i));
      side->copy(i, ids.data() + 1);
      h = fnv(ids.data(), ids.size() * sizeof(std::int32_t), h);
    }
  }
  return hex(h);
}

std::string fingerprint_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return in ? fingerprint_text(bytes.str()) : "unreadable";
}

}  // namespace xseq
