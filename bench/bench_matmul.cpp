// GFLOP/s of raw cblas_sgemm versus xseq::matmul (forward, no graph) on the
// shapes of issue #2, at 1 and 2 threads. Prints a markdown table.
//   build/bench_matmul [--repeats N]
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "framework/xseq.hpp"

namespace {

using Clock = std::chrono::steady_clock;

template <class F>
double best_seconds(F f, int repeats) {
  f();  // warm-up (allocations, BLAS buffers)
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 10;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--repeats") == 0) repeats = std::atoi(argv[i + 1]);

  struct Case { std::int64_t M, N, K; };
  const Case cases[] = {{1024, 1024, 1024}, {2048, 256, 1024}, {2048, 1024, 256}};
  std::printf("| M x N x K | threads | cblas_sgemm GFLOP/s | xseq::matmul GFLOP/s | ratio |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const Case& c : cases) {
    xseq::Rng rng(1);
    xseq::Tensor a({c.M, c.K}), b({c.K, c.N}), out({c.M, c.N});
    for (std::int64_t i = 0; i < a.numel(); ++i) a.data()[i] = rng.uniform(-1, 1);
    for (std::int64_t i = 0; i < b.numel(); ++i) b.data()[i] = rng.uniform(-1, 1);
    const xseq::Variable va(a), vb(b);
    const double flop = 2.0 * double(c.M) * double(c.N) * double(c.K);
    for (int threads : {1, 2}) {
      xseq::set_num_threads(threads);
      const double raw = best_seconds([&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(c.M), int(c.N), int(c.K), 1.0f, a.data(),
                    int(c.K), b.data(), int(c.N), 0.0f, out.data(), int(c.N));
      }, repeats);
      const double framework = best_seconds([&] {
        xseq::NoGradGuard no_grad;
        xseq::Variable y = xseq::matmul(va, vb);
      }, repeats);
      std::printf("| %lld x %lld x %lld | %d | %.1f | %.1f | %.2f |\n", (long long)c.M, (long long)c.N,
                  (long long)c.K, threads, flop / raw * 1e-9, flop / framework * 1e-9, raw / framework);
    }
  }
  return 0;
}
