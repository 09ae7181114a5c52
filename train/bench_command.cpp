#include "train/bench_command.hpp"

#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>

#include "datasets/vocab.hpp"
#include "framework/ema.hpp"
#include "framework/memory.hpp"
#include "framework/ops/flash_attention.hpp"
#include "framework/optim.hpp"
#include "framework/parallel.hpp"
#include "framework/profiler.hpp"
#include "train/cli_common.hpp"
#include "train/decoding.hpp"

namespace xseq {

double forward_flops(const ModelConfig& m, std::int64_t V, std::int64_t B, std::int64_t S, std::int64_t T) {
  const double b = double(B), s = double(S), t = double(T), v = double(V);
  if (m.type == "transformer") {
    const double D = double(m.d_model), F = double(m.ff_dim);
    const double enc = 4 * 2 * b * s * D * D + 2 * 2 * b * s * s * D + 2 * 2 * b * s * D * F;
    const double dec = 4 * 2 * b * t * D * D + 2 * 2 * b * t * t * D             // self-attention
                       + 2 * 2 * b * t * D * D + 2 * 2 * b * s * D * D + 2 * 2 * b * t * s * D  // cross
                       + 2 * 2 * b * t * D * F;
    return double(m.encoder_layers) * enc + double(m.decoder_layers) * dec + 2 * b * t * D * v;
  }
  // rnn_attention: input and recurrent projections of every layer and direction,
  // attention scores and context, the combine layer, the output projection.
  const double H = double(m.hidden), E = double(m.embed_dim), dirs = m.bidirectional ? 2 : 1;
  const double G = m.cell == "lstm" ? 4 : 3;
  double f = 0;
  for (std::int64_t l = 0; l < m.encoder_layers; ++l) {
    const double in = l == 0 ? E : dirs * H;
    f += dirs * (2 * b * s * in * G * H + 2 * b * s * H * G * H);
  }
  if (m.bidirectional) f += 2 * b * s * dirs * H * H;  // encoder_proj
  for (std::int64_t l = 0; l < m.decoder_layers; ++l) {
    const double in = l == 0 ? E + (m.input_feeding ? H : 0) : H;
    f += 2 * b * t * in * G * H + 2 * b * t * H * G * H;
  }
  f += 2 * 2 * b * t * s * H;                               // scores and context
  if (m.attention == "general") f += 2 * b * s * H * H;     // key projection
  if (m.attention != "seed") f += 2 * b * t * 2 * H * H;    // combine
  return f + 2 * b * t * H * v;
}

}  // namespace xseq

namespace xseq::cli {
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

struct BenchFlags {
  std::string config_path;
  std::vector<std::string> sets;
  std::int64_t steps = 20, warmup = 3;
  std::int64_t tokens = 0;  // > 0: batch = tokens / data.max_len
  std::string attention = "auto";
  int threads = -1;
  bool decode = false, profile = false;
};

int bench(const BenchFlags& f) {
  const Config config = load_config(f.config_path, f.sets);
  const std::int64_t steps = f.steps, warmup = f.warmup;
  set_num_threads(f.threads >= 0 ? f.threads : static_cast<int>(config.train.threads));
  set_attention_kernel(parse_attention_kernel(f.attention));
  const std::int64_t V = config.data.vocab_size, L = config.data.max_len;
  XSEQ_CHECK(V > 4 && L > 1, "xseq bench: the config needs data.vocab_size > 4 and data.max_len > 1");
  XSEQ_CHECK(f.tokens == 0 || f.tokens >= L, "xseq bench: --tokens ", f.tokens, " is less than one sentence of ",
             L, " tokens (data.max_len)");
  const std::int64_t B = f.tokens > 0 ? f.tokens / L : config.train.batch_size;
  Rng rng(static_cast<std::uint64_t>(config.train.seed));
  auto model = make_model(config.model, V, V, rng);
  const Lengths lengths(static_cast<std::size_t>(B), L);
  const bool decode_mode = f.decode;
  const bool profile = f.profile;
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  double seconds = 0, generated = 0, ema_seconds = 0, cpu_seconds = 0;
  if (decode_mode) {
    model->eval();
    DecodeOptions o;
    o.max_len_ratio = 0;
    o.max_len_extra = L;  // exactly L steps per sentence unless </s> comes first
    for (std::int64_t k = 0; k < warmup + steps; ++k) {
      const IndexTensor source = random_ids(B, L, V, rng, -1);
      profiler::enable(profile && k >= warmup);
      const auto start = Clock::now();
      const double cpu_start = process_cpu_seconds();
      const auto hyps = greedy_decode(*model, source, lengths, o);
      if (k < warmup) continue;
      seconds += since(start);
      cpu_seconds += process_cpu_seconds() - cpu_start;
      for (const auto& h : hyps) generated += double(h.tokens.size()) + (h.ended ? 1 : 0);
    }
  } else {
    auto optimizer = make_optimizer(config.train.optimizer, model->named_parameters(), float(config.train.momentum),
                                    float(config.train.weight_decay), float(config.train.beta1),
                                    float(config.train.beta2), float(config.train.eps));
    const std::vector<Variable> params = model->parameters();
    std::unique_ptr<ExponentialMovingAverage> ema;
    if (config.train.ema_decay > 0)
      ema = std::make_unique<ExponentialMovingAverage>(model->named_parameters(), config.train.ema_decay);
    model->train();
    for (std::int64_t k = 0; k < warmup + steps; ++k) {
      const IndexTensor source = random_ids(B, L, V, rng, -1);
      const IndexTensor target = random_ids(B, L, V, rng, -1);
      // decoder input = <s> y_1..y_{L-1}, output = y_1..y_L: L target tokens per sentence.
      std::vector<std::int32_t> input(target.data);
      for (std::int64_t b = 0; b < B; ++b) {
        for (std::int64_t t = L - 1; t > 0; --t) input[static_cast<std::size_t>(b * L + t)] = target.data[static_cast<std::size_t>(b * L + t - 1)];
        input[static_cast<std::size_t>(b * L)] = Vocab::kBos;
      }
      profiler::enable(profile && k >= warmup);
      const auto start = Clock::now();
      const double cpu_start = process_cpu_seconds();
      const Variable logits = model->logits(source, lengths, IndexTensor({B, L}, input), lengths);
      Variable loss = cross_entropy(logits, target, Vocab::kPad, float(config.train.label_smoothing));
      loss.backward();
      const auto update = Clock::now();
      clip_grad_norm(params, config.train.clip_norm);
      optimizer->step(float(config.train.lr));
      optimizer->zero_grad();
      if (profiler::enabled()) profiler::record_phase("(clip + optimizer)", since(update));
      if (ema) {
        const auto smoothing = Clock::now();
        ema->update();
        if (k >= warmup) ema_seconds += since(smoothing);
      }
      if (k >= warmup) {
        seconds += since(start);
        cpu_seconds += process_cpu_seconds() - cpu_start;
      }
    }
  }
  const double ms = 1000.0 * seconds / double(steps);
  const double gflops = (decode_mode ? 1.0 : 3.0) * forward_flops(config.model, V, B, L, L) / 1e9;
  const MemoryStats memory = memory_stats();
  nlohmann::ordered_json json;
  json["model"] = config.model.type;
  json["mode"] = decode_mode ? "decode" : "train";
  json["threads"] = num_threads();
  json["attention"] = f.attention;
  json["batch"] = B;
  json["length"] = L;
  json["ms_per_step"] = rounded(ms, 3);
  // CPU time of all threads: at 1 thread, the step's cost without the time other
  // processes took the core away (a shared machine); busy-waiting threads count.
  json["cpu_ms_per_step"] = rounded(1000.0 * cpu_seconds / double(steps), 3);
  json["tgt_tokens_per_s"] = rounded(double(B * L) / (ms / 1000.0), 1);
  json["gflops_per_step"] = rounded(gflops, 3);
  json["gflop_per_s"] = rounded(gflops / (ms / 1000.0), 2);
  json["peak_rss_mb"] = rounded(peak_rss_mb(), 1);
  json["tensor_peak_mb"] = rounded(double(memory.peak_live_bytes) / 1048576.0, 1);
  json["pool_cached_mb"] = rounded(double(memory.cached_bytes) / 1048576.0, 1);
  if (decode_mode) json["gen_tokens_per_s"] = rounded(generated / seconds, 1);
  if (ema_seconds > 0) json["ema_ms_per_step"] = rounded(1000.0 * ema_seconds / double(steps), 3);
  std::printf("%s\n", json.dump().c_str());
  if (profile) {
    profiler::enable(false);
    std::fprintf(stderr, "%s", profiler::report(steps).c_str());
  }
  return 0;
}

Command add_bench(CLI::App& root) {
  auto* cmd = root.add_subcommand("bench", "training or decoding speed of a config's model on random batches");
  cmd->footer(
      "Trains (or with --decode greedily decodes) the config's model on random token batches:\n"
      "train.batch_size sentences of data.max_len tokens, vocabulary data.vocab_size. Prints one\n"
      "JSON object: ms_per_step, tgt_tokens_per_s, gflops_per_step (counted analytically,\n"
      "docs/bench.md), gflop_per_s, cpu_ms_per_step, peak_rss_mb, tensor_peak_mb (and gen_tokens_per_s with\n"
      "--decode; ema_ms_per_step, the part of ms_per_step the moving average of the weights\n"
      "takes, with --set train.ema_decay=0.999). --profile also prints a per-op timing table (forward and backward ms per step)\n"
      "to stderr. --tokens N fixes the target tokens per batch (batch = N / data.max_len) for rows\n"
      "over lengths; --attention picks packed_attention's kernel (auto: by length, docs/bench.md).");
  auto f = std::make_shared<BenchFlags>();
  cmd->add_option("config", f->config_path, "the config file (TOML)")->required()->check(CLI::ExistingFile);
  add_set_flag(*cmd, f->sets);
  cmd->add_option("--steps", f->steps, "timed steps")->check(CLI::Range(std::int64_t{1}, std::int64_t{1000000}))->capture_default_str();
  cmd->add_option("--warmup", f->warmup, "untimed steps first")->check(CLI::Range(std::int64_t{0}, std::int64_t{1000000}))->capture_default_str();
  cmd->add_option("--tokens", f->tokens, "target tokens per batch: batch = N / data.max_len (0 = train.batch_size)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{100000000}));
  cmd->add_option("--attention", f->attention, "attention kernel: auto, materialized (T x T weights) or tiled")
      ->check(CLI::IsMember({"auto", "materialized", "tiled"}))
      ->capture_default_str();
  add_threads_flag(*cmd, f->threads, "train.threads");
  cmd->add_flag("--decode", f->decode, "greedy decoding instead of training steps");
  cmd->add_flag("--profile", f->profile, "per-op forward/backward times to stderr");
  return {cmd, [f] { return bench(*f); }};
}

}  // namespace

std::vector<Command> add_bench_command(CLI::App& root) { return {add_bench(root)}; }

}  // namespace xseq::cli
