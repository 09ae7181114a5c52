// Forward + backward time of the fused kernels at transformer-sized shapes,
// at 1 and 2 threads: a baseline for speed work. Prints a markdown table.
//   build/bench_ops [--repeats N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

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

}  // namespace

int main(int argc, char** argv) {
  int repeats = 20;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--repeats") == 0) repeats = std::atoi(argv[i + 1]);

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
