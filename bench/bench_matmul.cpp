// GFLOP/s of raw cblas_sgemm versus xseq::matmul (forward, no graph) on the
// shapes of issue #2, at 1 and 2 threads. Prints a markdown table.
//   build/bench_matmul [--repeats N]
// With --ceiling T: the sgemm ceiling at T threads, the best GFLOP/s of raw
// cblas_sgemm over the big training shapes of transformer-small (2048 rows,
// 256 or 1024 columns and depth), as one JSON object (bench/vs_pytorch.sh).
//   build/bench_matmul --ceiling 2
// With --tiles: single-threaded cblas_sgemm GFLOP/s on the tile products of the
// tiled attention kernel (64 query rows x 256 keys, head dim 32, operands with
// the packed-head row stride 128), against the ceiling: whether a hand-written
// micro-kernel could win there (docs/bench.md, "Long sequences").
//   build/bench_matmul --tiles
// With --invariant: single-threaded GFLOP/s of the two kernels behind
// xseq::gemm on decoding shapes (rows = sentences x beams; the linear layers'
// x W^T and a P V product): OpenBLAS against the batch-invariant kernel that
// decoding uses (framework/blas.hpp), alternating, best of --repeats.
//   build/bench_matmul --invariant
// With --backends: GFLOP/s of each backend and precision on the bench models'
// training products at 2 threads (the fp32 backend table, docs/precision.md).
//   build/bench_matmul --backends
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "framework/blas.hpp"
#include "framework/cpu.hpp"
#include "framework/onednn.hpp"
#include "framework/precision.hpp"
#include "framework/quantize.hpp"
#include "framework/xseq.hpp"

namespace {

using Clock = std::chrono::steady_clock;

template <class F>
double seconds(F f) {
  const auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Best time of each of two functions, run alternately so that both see the
// same machine state (frequency, cache, the other core's load).
template <class F, class G>
std::pair<double, double> best_alternating(F f, G g, int repeats) {
  f();  // warm-up: BLAS buffers, the allocator's cache
  g();
  double best_f = 1e30, best_g = 1e30;
  for (int r = 0; r < repeats; ++r) {
    best_f = std::min(best_f, seconds(f));
    best_g = std::min(best_g, seconds(g));
  }
  return {best_f, best_g};
}

double raw_sgemm_gflops(std::int64_t M, std::int64_t N, std::int64_t K, int repeats) {
  xseq::Rng rng(1);
  xseq::Tensor a({M, K}), b({K, N}), out({M, N});
  for (std::int64_t i = 0; i < a.numel(); ++i) a.data()[i] = rng.uniform(-1, 1);
  for (std::int64_t i = 0; i < b.numel(); ++i) b.data()[i] = rng.uniform(-1, 1);
  auto run = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(M), int(N), int(K), 1.0f, a.data(), int(K),
                b.data(), int(N), 0.0f, out.data(), int(N));
  };
  run();
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) best = std::min(best, seconds(run));
  return 2.0 * double(M) * double(N) * double(K) / best * 1e-9;
}

int print_ceiling(int threads, int repeats) {
  xseq::set_num_threads(threads);
  struct Shape { std::int64_t M, N, K; };
  const Shape shapes[] = {{2048, 256, 256}, {2048, 1024, 256}, {2048, 256, 1024}};
  double best = 0;
  for (const Shape& s : shapes) best = std::max(best, raw_sgemm_gflops(s.M, s.N, s.K, repeats));
  std::printf("{\"threads\": %d, \"sgemm_gflop_per_s\": %.1f}\n", threads, best);
  return 0;
}

// The five products of one tile of ops/flash_attention.cpp, op(A) (M x K), op(B) (K x N).
int print_tiles(int repeats) {
  xseq::set_num_threads(1);
  struct Tile { const char* what; bool ta, tb; int M, N, K, lda, ldb; };
  const Tile tiles[] = {
      {"S = Q K^T (64 x 256 x 32)", false, true, 64, 256, 32, 128, 128},
      {"A += P V (64 x 32 x 256)", false, false, 64, 32, 256, 256, 128},
      {"dV += P^T dO (256 x 32 x 64)", true, false, 256, 32, 64, 256, 128},
      {"dQ += dS K (64 x 32 x 256)", false, false, 64, 32, 256, 256, 128},
      {"dK += dS^T Q (256 x 32 x 64)", true, false, 256, 32, 64, 256, 128},
  };
  std::vector<float> a(1 << 20, 0.5f), b(1 << 20, 0.25f), c(1 << 20, 0.0f);
  std::printf("| tile product | cblas_sgemm GFLOP/s, 1 thread |\n|---|---|\n");
  for (const Tile& t : tiles) {
    auto run = [&] {
      cblas_sgemm(CblasRowMajor, t.ta ? CblasTrans : CblasNoTrans, t.tb ? CblasTrans : CblasNoTrans, t.M, t.N, t.K,
                  1.0f, a.data(), t.lda, b.data(), t.ldb, 1.0f, c.data(), t.N);
    };
    run();
    double best = 1e30;
    for (int r = 0; r < repeats * 10; ++r) best = std::min(best, seconds(run));
    std::printf("| %s | %.1f |\n", t.what, 2.0 * t.M * t.N * t.K / best * 1e-9);
  }
  return print_ceiling(1, repeats);
}

int print_invariant(int repeats) {
  xseq::set_num_threads(1);
  struct Case { bool tb; std::int64_t M, N, K; const char* what; };
  const Case cases[] = {
      {true, 1, 256, 256, "x W^T, d 256"},        {true, 1, 1024, 256, "x W^T, ff 1024"},
      {true, 1, 8000, 256, "x W^T, vocab 8000"},  {true, 32, 256, 256, "x W^T, d 256"},
      {true, 32, 1024, 256, "x W^T, ff 1024"},    {true, 32, 256, 1024, "x W^T, ff back"},
      {true, 32, 8000, 256, "x W^T, vocab 8000"}, {true, 160, 256, 256, "x W^T, d 256"},
      {true, 160, 1024, 256, "x W^T, ff 1024"},   {true, 2048, 256, 256, "x W^T (encoder)"},
      {true, 2048, 1024, 256, "x W^T (encoder)"}, {true, 1, 40, 64, "q K^T, one head"},
      {false, 1, 64, 40, "P V, one head"},         {false, 64, 64, 256, "P V, tile"},
  };
  std::printf("| product | M x N x K | OpenBLAS GFLOP/s | batch-invariant GFLOP/s | ratio |\n|---|---|---|---|---|\n");
  for (const Case& c : cases) {
    xseq::Rng rng(1);
    std::vector<float> a(std::size_t(c.M * c.K)), b(std::size_t(c.K * c.N)), out(std::size_t(c.M * c.N));
    for (auto& x : a) x = rng.uniform(-1, 1);
    for (auto& x : b) x = rng.uniform(-1, 1);
    const std::int64_t ldb = c.tb ? c.K : c.N;
    auto product = [&](xseq::GemmKernel kernel) {
      return [&, kernel] {
        for (int r = 0; r < 20; ++r)
          xseq::gemm(kernel, false, c.tb, c.M, c.N, c.K, 1.0f, a.data(), c.K, b.data(), ldb, 0.0f, out.data(), c.N);
      };
    };
    const auto [blas, inv] =
        best_alternating(product(xseq::GemmKernel::blas), product(xseq::GemmKernel::batch_invariant), repeats);
    const double flop = 20 * 2.0 * double(c.M) * double(c.N) * double(c.K);
    std::printf("| %s | %lld x %lld x %lld | %.1f | %.1f | %.2f |\n", c.what, (long long)c.M, (long long)c.N,
                (long long)c.K, flop / blas * 1e-9, flop / inv * 1e-9, blas / inv);
  }
  std::printf("\nbatch-invariant kernel: %s\n", xseq::gemm_kernel_name(xseq::GemmKernel::batch_invariant).c_str());
  return 0;
}

// The backend table's measurements (framework/blas.hpp fp32_backend,
// docs/precision.md): each training product of the three bench models (x W^T
// forward, dy W and dy^T x backward) through OpenBLAS fp32, oneDNN fp32, oneDNN
// bf16 and int8 (x quantised per row, oneDNN s8 x s8 -> s32, the fp32 epilogue),
// alternating, best of --repeats, at the current thread count.
int print_backends(int repeats, int threads) {
  xseq::set_num_threads(threads);
  struct Case { bool ta, tb; std::int64_t M, N, K; const char* what; };
  const Case cases[] = {
      {false, true, 2048, 256, 256, "small: x W^T, d 256"},    {false, true, 2048, 1024, 256, "small: x W^T, ff 1024"},
      {false, true, 2048, 256, 1024, "small: x W^T, ff back"},  {false, true, 2048, 8000, 256, "small: x E^T, vocab"},
      {false, false, 2048, 256, 1024, "small: dy W, ff"},       {true, false, 1024, 256, 2048, "small: dy^T x, ff"},
      {false, true, 1024, 128, 128, "tiny: x W^T, d 128"},     {false, true, 1024, 512, 128, "tiny: x W^T, ff 512"},
      {false, true, 2048, 768, 256, "gru: x W^T, 3 x 256"},     {false, true, 64, 768, 256, "gru: h W^T, one step"},
      {false, true, 64, 256, 256, "small decoding: x W^T, d 256"}, {false, true, 64, 1024, 256, "small decoding: ff 1024"},
      {false, true, 64, 256, 1024, "small decoding: ff back"},
  };
  std::printf("| product | M x N x K | OpenBLAS fp32 GFLOP/s | oneDNN fp32 | oneDNN bf16 | int8 (GOP/s) |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const Case& c : cases) {
    xseq::Rng rng(1);
    std::vector<float> a(std::size_t(c.M * c.K)), b(std::size_t(c.K * c.N)), out(std::size_t(c.M * c.N));
    for (auto& x : a) x = rng.uniform(-1, 1);
    for (auto& x : b) x = rng.uniform(-1, 1);
    const std::int64_t lda = c.ta ? c.M : c.K, ldb = c.tb ? c.K : c.N;
    auto product = [&](xseq::GemmKernel kernel) {
      return [&, kernel] {
        xseq::gemm(kernel, c.ta, c.tb, c.M, c.N, c.K, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, out.data(), c.N);
      };
    };
    const double flop = 2.0 * double(c.M) * double(c.N) * double(c.K);
    const auto [blas, dnn32] = best_alternating(
        [&] { xseq::gemm_openblas(c.ta, c.tb, c.M, c.N, c.K, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, out.data(), c.N); },
        product(xseq::GemmKernel::onednn_fp32), repeats);
    double bf16 = 0.0, int8 = 0.0;
    if (xseq::precision_unsupported(xseq::Precision::bf16).empty()) {
      const auto [t16, again] =
          best_alternating(product(xseq::GemmKernel::onednn_bf16), product(xseq::GemmKernel::onednn_bf16), repeats);
      bf16 = flop / std::min(t16, again) * 1e-9;
    }
    if (!c.ta && c.tb) {  // a linear layer's x W^T: W (N x K) quantised
      xseq::Tensor w({c.N, c.K});
      std::copy(b.begin(), b.end(), w.data());
      const xseq::QuantizedMatrix q = xseq::quantize_rows(w);
      const auto [t8, again] = best_alternating([&] { xseq::int8_linear(a.data(), c.M, q, nullptr, false, out.data()); },
                                                [&] { xseq::int8_linear(a.data(), c.M, q, nullptr, false, out.data()); },
                                                repeats);
      int8 = flop / std::min(t8, again) * 1e-9;
    }
    auto cell = [](double v) { return v > 0 ? std::to_string(int(v + 0.5)) : std::string("-"); };
    std::printf("| %s | %lld x %lld x %lld | %.1f | %.1f | %s | %s |\n", c.what, (long long)c.M, (long long)c.N,
                (long long)c.K, flop / blas * 1e-9, flop / dnn32 * 1e-9, cell(bf16).c_str(), cell(int8).c_str());
    std::fflush(stdout);
  }
  std::printf("\n%d threads; %s; kernels %s\n", threads, xseq::onednn::describe().c_str(),
              xseq::isa_name(xseq::cpu_isa()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 20;
  int ceiling_threads = 0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--repeats") == 0) repeats = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--ceiling") == 0) ceiling_threads = std::atoi(argv[i + 1]);
  }
  if (ceiling_threads > 0) return print_ceiling(ceiling_threads, repeats);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tiles") == 0) return print_tiles(repeats);
    if (std::strcmp(argv[i], "--invariant") == 0) return print_invariant(repeats);
    if (std::strcmp(argv[i], "--backends") == 0) return print_backends(repeats, 2);
  }
  // xseq::matmul here measures the framework's overhead over the same sgemm.
  xseq::set_gemm_kernel_override(xseq::GemmKernelOverride::blas);

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
      const auto [raw, framework] = best_alternating(
          [&] {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(c.M), int(c.N), int(c.K), 1.0f,
                        a.data(), int(c.K), b.data(), int(c.N), 0.0f, out.data(), int(c.N));
          },
          [&] {
            xseq::NoGradGuard no_grad;
            xseq::Variable y = xseq::matmul(va, vb);
          },
          repeats);
      std::printf("| %lld x %lld x %lld | %d | %.1f | %.1f | %.2f |\n", (long long)c.M, (long long)c.N,
                  (long long)c.K, threads, flop / raw * 1e-9, flop / framework * 1e-9, raw / framework);
    }
  }
  return 0;
}
