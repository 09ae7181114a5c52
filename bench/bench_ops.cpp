// Forward + backward time of the fused kernels at transformer-sized shapes,
// at 1 and 2 threads: a baseline for speed work. Prints a markdown table.
//   build/bench_ops [--repeats N]
// With --attention: packed_attention alone (forward + backward) at 2,048 tokens
// per batch (4 heads of 32, the tiny Transformer) over lengths, materialised
// against tiled kernels of several tile sizes, alternating, medians; the data
// behind the tile sizes and the automatic threshold (docs/bench.md).
//   build/bench_ops --attention [--repeats N] [--threads T] [--lengths "64 128 ..."] [--tiles "64x512 ..."]
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "framework/ops/flash_attention.hpp"
#include "framework/xseq.hpp"

namespace {

using namespace xseq;
using Clock = std::chrono::steady_clock;

Tensor random(const Shape& s, Rng& rng) {
  Tensor t(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = rng.uniform(-1, 1);
  return t;
}

struct Case {
  std::string name;
  std::string shape;
  double bytes;  // bytes the forward + backward must at least read and write
  std::function<void()> run;
};

double best_ms(const std::function<void()>& f, int repeats) {
  f();
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return best;
}

double process_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) * 1e-6;
}

// Median milliseconds of each function, run round-robin `repeats` times: wall
// time, or with `cpu` the process's CPU time (at 1 thread, robust against other
// processes taking the core away).
std::vector<double> median_ms_alternating(const std::vector<std::function<void()>>& fs, int repeats, bool cpu) {
  std::vector<std::vector<double>> ms(fs.size());
  for (const auto& f : fs) f();  // warm-up
  for (int r = 0; r < repeats; ++r)
    for (std::size_t i = 0; i < fs.size(); ++i) {
      const auto t0 = Clock::now();
      const double c0 = process_cpu_ms();
      fs[i]();
      ms[i].push_back(cpu ? process_cpu_ms() - c0
                          : std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
  std::vector<double> out;
  for (auto& v : ms) {
    std::sort(v.begin(), v.end());
    out.push_back(v[v.size() / 2]);
  }
  return out;
}

// packed_attention forward + backward at 2,048 tokens per batch, h = 4, d = 32.
int bench_attention(int repeats, int threads, const std::vector<std::int64_t>& lengths,
                    const std::vector<std::int64_t>& tiles) {
  set_num_threads(threads);
  const std::int64_t H = 4, d = 32, tokens = 2048;
  struct Kernel {
    std::string name;
    AttentionKernel kernel;
    detail::AttentionTiles tiles;
  };
  std::vector<Kernel> kernels = {{"materialized", AttentionKernel::materialized, {}}};
  for (std::size_t i = 0; i + 1 < tiles.size(); i += 2)
    kernels.push_back({"tiled " + std::to_string(tiles[i]) + "x" + std::to_string(tiles[i + 1]),
                       AttentionKernel::tiled, {tiles[i], tiles[i + 1]}});
  // At 1 thread the times are CPU time (the machine is shared), else wall time.
  std::printf("| T | causal | kernel | %s ms (fwd+bwd) | GFLOP/s |\n|---|---|---|---|---|\n",
              threads == 1 ? "CPU" : "wall");
  for (std::int64_t T : lengths) {
    const std::int64_t B = std::max<std::int64_t>(1, tokens / T);
    Rng rng(3);
    Variable q(random({B, T, H * d}, rng), true), k(random({B, T, H * d}, rng), true),
        v(random({B, T, H * d}, rng), true);
    const double flop = 3.0 * 4.0 * double(B * H * T * T * d);  // counted as xseq bench counts attention
    for (bool causal : {false, true}) {
      std::vector<std::function<void()>> runs;
      for (const Kernel& kern : kernels)
        runs.push_back([&, kern] {
          set_attention_kernel(kern.kernel);
          detail::set_attention_tiles(kern.tiles);
          sum(packed_attention(q, k, v, H, Tensor(), causal, 0.1f, true, &rng)).backward();
        });
      const std::vector<double> ms = median_ms_alternating(runs, repeats, threads == 1);
      for (std::size_t i = 0; i < kernels.size(); ++i)
        std::printf("| %lld | %d | %s | %.3f | %.1f |\n", (long long)T, int(causal), kernels[i].name.c_str(), ms[i],
                    flop / (ms[i] * 1e-3) * 1e-9);
    }
  }
  set_attention_kernel(AttentionKernel::automatic);
  detail::set_attention_tiles({});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 20, threads = 2;
  bool attention = false;
  std::vector<std::int64_t> lengths = {32, 64, 128, 256, 512, 1024, 2048};
  // query rows x keys per tile, as pairs: "32x128 64x512" -> {32, 128, 64, 512}
  std::vector<std::int64_t> tiles = {32, 128, 32, 512, 64, 128, 64, 256, 64, 512, 128, 256, 128, 2048};
  auto numbers = [](const char* p) {  // every integer in p ("64x512 32x256" -> 64 512 32 256)
    std::vector<std::int64_t> out;
    while (*p) {
      char* end = nullptr;
      const long long n = std::strtoll(p, &end, 10);
      if (end == p) {
        ++p;
        continue;
      }
      out.push_back(n);
      p = end;
    }
    return out;
  };
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--attention") == 0) attention = true;
    if (i + 1 >= argc) continue;
    if (std::strcmp(argv[i], "--repeats") == 0) repeats = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--threads") == 0) threads = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--lengths") == 0) lengths = numbers(argv[i + 1]);
    if (std::strcmp(argv[i], "--tiles") == 0) tiles = numbers(argv[i + 1]);
  }
  if (attention) return bench_attention(repeats, threads, lengths, tiles);

  // transformer-small shapes: batch 64, length 32, d_model 256, 4 heads, ff 1024, vocab 64.
  const std::int64_t B = 64, T = 32, D = 256, H = 4, F = 1024, V = 64;
  Rng rng(1);
  Variable x(random({B, T, D}, rng), true), bias(random({D}, rng), true);
  Variable ff(random({B, T, F}, rng), true);
  Variable scores(random({B, H, T, T}, rng), true);
  Variable gamma(random({D}, rng), true), beta(random({D}, rng), true);
  Variable logits(random({B * T, V}, rng), true);
  Variable table(random({V, D}, rng), true);
  Tensor mask = Tensor::zeros({B, 1, 1, T});
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = T - b % 8; t < T; ++t) mask.data()[b * T + t] = -INFINITY;
  std::vector<std::int32_t> ids(B * T), targets(B * T);
  for (auto& id : ids) id = std::int32_t(rng.below(V));
  for (auto& t : targets) t = std::int32_t(rng.below(V));
  const IndexTensor id_tensor({B, T}, ids), target_tensor({B * T}, targets);
  Rng drop(2);
  const double f = 4.0;  // bytes per float
  const double xD = double(B * T * D), xF = double(B * T * F), xS = double(B * H * T * T), xV = double(B * T * V);

  std::vector<Case> cases = {
      {"add bias (broadcast)", "(64,32,256)+(256)", f * 5 * xD, [&] { sum(x + bias).backward(); }},
      {"gelu", "(64,32,1024)", f * 5 * xF, [&] { sum(gelu(ff)).backward(); }},
      {"masked softmax", "(64,4,32,32)", f * 5 * xS, [&] { sum(softmax(scores, mask)).backward(); }},
      {"layer_norm", "(64,32,256)", f * 5 * xD, [&] { sum(layer_norm(x, gamma, beta)).backward(); }},
      {"dropout 0.1", "(64,32,1024)", f * 4 * xF, [&] { sum(dropout(ff, 0.1f, true, drop)).backward(); }},
      {"cross_entropy + smoothing", "(2048,64)", f * 3 * xV,
       [&] { cross_entropy(logits, target_tensor, -100, 0.1f).backward(); }},
      {"embedding", "(64,32) ids, 64x256", f * 3 * xD, [&] { sum(embedding(table, id_tensor, 0)).backward(); }},
      {"permute (B,T,H,d)->(B,H,T,d)", "(64,32,4,64)", f * 4 * xD,
       [&] { sum(permute(reshape(x, {B, T, H, D / H}), {0, 2, 1, 3})).backward(); }},
  };

  std::printf("| op (forward + backward) | shape | 1 thread ms | 2 threads ms | speed-up | GB/s at 2 threads |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const Case& c : cases) {
    set_num_threads(1);
    const double one = best_ms(c.run, repeats);
    set_num_threads(2);
    const double two = best_ms(c.run, repeats);
    std::printf("| %s | %s | %.3f | %.3f | %.2f | %.1f |\n", c.name.c_str(), c.shape.c_str(), one, two, one / two,
                c.bytes / (two * 1e-3) * 1e-9);
  }
  return 0;
}
