#include "train/bench.hpp"

#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "datasets/vocab.hpp"
#include "decode/decoding.hpp"
#include "framework/blas.hpp"
#include "framework/distributed.hpp"
#include "framework/ema.hpp"
#include "framework/memory.hpp"
#include "framework/onednn.hpp"
#include "framework/ops/flash_attention.hpp"
#include "framework/optim.hpp"
#include "framework/parallel.hpp"
#include "framework/precision.hpp"
#include "framework/profiler.hpp"
#include "models/flops.hpp"
#include "train/distributed_training.hpp"

namespace xseq {
namespace {

// `digits` decimals, so that the JSON shows what the numbers can support.
double rounded(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}

// CPU time of the whole process (every thread), in seconds.
double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;
}

IndexTensor random_ids(std::int64_t B, std::int64_t L, std::int64_t V, Rng& rng, std::int32_t first) {
  std::vector<std::int32_t> ids(static_cast<std::size_t>(B * L));
  for (std::int64_t i = 0; i < B * L; ++i) ids[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(4 + rng.below(static_cast<std::uint64_t>(V - 4)));
  if (first >= 0)
    for (std::int64_t b = 0; b < B; ++b) ids[static_cast<std::size_t>(b * L)] = first;
  return IndexTensor({B, L}, std::move(ids));
}


// What the timed steps measured.
struct BenchTimes {
  double seconds = 0, cpu_seconds = 0, ema_seconds = 0, generated = 0;
  double sum_ms = 0, wait_ms = 0, sum_bytes = 0, overlap = 0;  // gradient sums over ranks (mpirun)
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct BenchShape {
  std::int64_t B, L, V;
};

BenchTimes bench_decoding(Seq2SeqModel& model, const BenchShape& s, const BenchOptions& f, Rng& rng) {
  BenchTimes t;
  model.eval();
  DecodeOptions o;
  o.max_len_ratio = 0;
  o.max_len_extra = s.L;  // exactly L steps per sentence unless </s> comes first
  const Lengths lengths(static_cast<std::size_t>(s.B), s.L);
  for (std::int64_t k = 0; k < f.warmup + f.steps; ++k) {
    const IndexTensor source = random_ids(s.B, s.L, s.V, rng, -1);
    profiler::enable(f.profile && k >= f.warmup);
    const auto start = Clock::now();
    const double cpu_start = process_cpu_seconds();
    const auto hyps = greedy_decode(model, source, lengths, o);
    if (k < f.warmup) continue;
    t.seconds += seconds_since(start);
    t.cpu_seconds += process_cpu_seconds() - cpu_start;
    for (const auto& h : hyps) t.generated += double(h.tokens.size()) + (h.ended ? 1 : 0);
  }
  return t;
}

// One random batch: decoder input = <s> y_1..y_{L-1}, output = y_1..y_L.
void random_batch(const BenchShape& s, Rng& rng, IndexTensor& source, IndexTensor& input, IndexTensor& target) {
  source = random_ids(s.B, s.L, s.V, rng, -1);
  target = random_ids(s.B, s.L, s.V, rng, -1);
  std::vector<std::int32_t> in(target.data);
  for (std::int64_t b = 0; b < s.B; ++b) {
    for (std::int64_t t = s.L - 1; t > 0; --t) in[static_cast<std::size_t>(b * s.L + t)] = target.data[static_cast<std::size_t>(b * s.L + t - 1)];
    in[static_cast<std::size_t>(b * s.L)] = Vocab::kBos;
  }
  input = IndexTensor({s.B, s.L}, std::move(in));
}

// Training steps; under mpirun every rank trains on its own random batch and the
// gradients are summed over the ranks (overlapped with backward) as in training.
BenchTimes bench_training(Seq2SeqModel& model, const Config& config, const BenchShape& s, const BenchOptions& f,
                          Rng& rng, DataParallel& parallel) {
  BenchTimes t;
  const TrainConfig& tc = config.train;
  auto optimizer = make_optimizer(tc.optimizer, model.named_parameters(), float(tc.momentum), float(tc.weight_decay),
                                  float(tc.beta1), float(tc.beta2), float(tc.eps));
  const std::vector<Variable> params = model.parameters();
  std::unique_ptr<ExponentialMovingAverage> ema;
  if (tc.ema_decay > 0) ema = std::make_unique<ExponentialMovingAverage>(model.named_parameters(), tc.ema_decay);
  model.train();
  const Lengths lengths(static_cast<std::size_t>(s.B), s.L);
  for (std::int64_t k = 0; k < f.warmup + f.steps; ++k) {
    IndexTensor source, input, target;
    random_batch(s, rng, source, input, target);
    profiler::enable(f.profile && k >= f.warmup);
    const auto start = Clock::now();
    const double cpu_start = process_cpu_seconds();
    Variable loss = cross_entropy(model.logits(source, lengths, input, lengths), target, Vocab::kPad,
                                  float(tc.label_smoothing));
    parallel.backward_with_sums(loss, params);
    parallel.sum_gradients(params);
    const auto update = Clock::now();
    clip_grad_norm(params, tc.clip_norm);
    optimizer->step(float(tc.lr));
    optimizer->zero_grad();
    if (profiler::enabled()) profiler::record_phase("(clip + optimizer)", seconds_since(update));
    const auto smoothing = Clock::now();
    if (ema) ema->update();
    if (k < f.warmup) continue;
    if (ema) t.ema_seconds += seconds_since(smoothing);
    t.seconds += seconds_since(start);
    t.cpu_seconds += process_cpu_seconds() - cpu_start;
    t.sum_ms += parallel.last_sum_ms();
    t.wait_ms += parallel.last_wait_ms();
    t.sum_bytes = parallel.last_sum_bytes();
    t.overlap += parallel.last_overlap();
  }
  return t;
}

nlohmann::ordered_json bench_json(const Config& config, const BenchShape& s, const BenchOptions& f, const BenchTimes& t,
                                  int ranks) {
  const double steps = double(f.steps), ms = 1000.0 * t.seconds / steps;
  const double gflops = double(ranks) * (f.decode ? 1.0 : 3.0) * forward_flops(config.model, s.V, s.B, s.L, s.L) / 1e9;
  const MemoryStats memory = memory_stats();
  nlohmann::ordered_json json;
  json["model"] = config.model.type;
  json["mode"] = f.decode ? "decode" : "train";
  json["threads"] = num_threads();
  if (ranks > 1) json["ranks"] = ranks;
  json["attention"] = f.attention;
  json["gemm"] = f.gemm;
  json["batch"] = s.B;
  json["length"] = s.L;
  json["ms_per_step"] = rounded(ms, 3);
  // CPU time of all threads: at 1 thread, the step's cost without the time other
  // processes took the core away (a shared machine); busy-waiting threads count.
  json["cpu_ms_per_step"] = rounded(1000.0 * t.cpu_seconds / steps, 3);
  json["tgt_tokens_per_s"] = rounded(double(ranks) * double(s.B * s.L) / (ms / 1000.0), 1);  // all ranks
  json["gflops_per_step"] = rounded(gflops, 3);
  json["gflop_per_s"] = rounded(gflops / (ms / 1000.0), 2);
  json["peak_rss_mb"] = rounded(peak_rss_mb(), 1);
  json["tensor_peak_mb"] = rounded(double(memory.peak_live_bytes) / 1048576.0, 1);
  json["pool_cached_mb"] = rounded(double(memory.cached_bytes) / 1048576.0, 1);
  if (f.decode) json["gen_tokens_per_s"] = rounded(t.generated / t.seconds, 1);
  if (t.ema_seconds > 0) json["ema_ms_per_step"] = rounded(1000.0 * t.ema_seconds / steps, 3);
  if (ranks > 1) {  // the gradient sum over the ranks, per step, on rank 0
    json["allreduce_ms_per_step"] = rounded(t.sum_ms / steps, 3);
    json["allreduce_wait_ms_per_step"] = rounded(t.wait_ms / steps, 3);
    json["allreduce_mb_per_step"] = rounded(t.sum_bytes / 1e6, 3);
    json["allreduce_overlap"] = rounded(t.overlap / steps, 3);
  }
  return json;
}

// Which library runs the products of this benchmark, for --profile (the table
// names ops, not libraries).
std::string products_line(const BenchOptions& f, Precision precision) {
  const std::string fp32_training = "fp32 " + std::string(matmul_backend_name(fp32_backend(false, true))) + " (x W^T), " +
                                    matmul_backend_name(fp32_backend(false, false)) + " (dy W), " +
                                    matmul_backend_name(fp32_backend(true, false)) + " (dy^T x); XSEQ_MATMUL " +
                                    fp32_backend_setting();
  const std::string invariant = gemm_kernel_name(GemmKernel::batch_invariant);
  if (precision == Precision::bf16)
    return "products: linear and output layers bf16 through " + onednn::describe() + "; attention fp32 (" +
           (f.decode ? invariant : "OpenBLAS") + ")";
  if (precision == Precision::int8)
    return "products: Dense weights (and a tied output) int8 through " + onednn::describe() +
           " (int8_linear); attention fp32 (" + invariant + ")";
  return "products: " + (f.decode ? "fp32 " + invariant : fp32_training);
}

// --precision (or train.precision) on this CPU; --decode makes the model decode in it.
Precision bench_precision(const Config& config, const BenchOptions& f, Seq2SeqModel& model) {
  if (!f.decode) return training_precision(f.precision.empty() ? config.train.precision : f.precision, "--precision");
  const Precision p = f.precision.empty() ? Precision::fp32 : parse_precision(f.precision, "xseq bench --precision");
  set_model_precision(model, p);
  return p;
}

}  // namespace

int run_bench(const Config& config, const BenchOptions& f) {
  set_attention_kernel(parse_attention_kernel(f.attention));
  XSEQ_CHECK(f.gemm == "auto" || f.gemm == "blas" || f.gemm == "batch_invariant", "xseq bench: --gemm '", f.gemm,
             "' is not one of auto, blas, batch_invariant");
  set_gemm_kernel_override(f.gemm == "blas"              ? GemmKernelOverride::blas
                           : f.gemm == "batch_invariant" ? GemmKernelOverride::batch_invariant
                                                         : GemmKernelOverride::automatic);
  const std::int64_t V = config.data.vocab_size, L = config.data.max_len;
  XSEQ_CHECK(V > 4 && L > 1, "xseq bench: the config needs data.vocab_size > 4 and data.max_len > 1");
  XSEQ_CHECK(f.tokens == 0 || f.tokens >= L, "xseq bench: --tokens ", f.tokens, " is less than one sentence of ",
             L, " tokens (data.max_len)");
  const BenchShape shape{f.tokens > 0 ? f.tokens / L : config.train.batch_size, L, V};
  Communicator& comm = process_communicator();
  XSEQ_CHECK(comm.size() == 1 || !f.decode, "xseq bench --decode runs in one process (not under mpirun)");
  DataParallel parallel(comm);
  Rng rng(static_cast<std::uint64_t>(config.train.seed));  // the same weights on every rank
  auto model = make_model(config.model, V, V, rng);
  Rng data_rng(static_cast<std::uint64_t>(config.train.seed) + 1000003u * std::uint64_t(comm.rank()));
  const Precision precision = bench_precision(config, f, *model);
  PrecisionGuard products(precision);
  const BenchTimes times = f.decode ? bench_decoding(*model, shape, f, data_rng)
                                    : bench_training(*model, config, shape, f, data_rng, parallel);
  nlohmann::ordered_json json = bench_json(config, shape, f, times, comm.size());
  json["precision"] = precision_name(precision);
  if (comm.rank() == 0) std::printf("%s\n", json.dump().c_str());
  if (f.profile) {
    profiler::enable(false);
    if (comm.rank() == 0)
      std::fprintf(stderr, "%s%s\n", profiler::report(f.steps).c_str(), products_line(f, precision).c_str());
  }
  return 0;
}

}  // namespace xseq
