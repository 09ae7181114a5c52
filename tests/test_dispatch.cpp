// Run-time instruction-set dispatch (framework/kernels/vector_kernels.hpp):
// every kernel of every instruction set this CPU supports, the forced baseline
// (generic) path included, against double-precision references; the ops'
// gradients under each forced set; XSEQ_ISA through the CLI. The qemu smoke test
// (a CPU without AVX) is tests/test_portable.cpp.
//
// Bounds. u = 2^-24 is float32's unit roundoff. A float sum of n terms is off by
// at most (n - 1) u times the sum of the terms' magnitudes in any order
// (Higham, Accuracy and Stability, 4.2), which bounds every reduction below
// whatever order a path's vectors add in. vmath's exp is within 2 ulp
// (tests/test_vmath.cpp), tanh and sigmoid within 4, normal_cdf within 8; an
// argument x rounded before exp (x - max) adds |x| u relative. Each bound below
// adds those up; the constant slack is a few ulp for the final products.
#include "helpers.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "framework/cpu.hpp"
#include "framework/kernels/vector_kernels.hpp"
#include "framework/ops/flash_attention.hpp"
#include "framework/ops/kernels.hpp"

using namespace xseq;
using kernels::VectorKernels;
using test::param;
using test::require_gradients_match;
using test::uniform;

namespace {

constexpr double u = 5.9604644775390625e-08;  // 2^-24
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512})
    if (static_cast<int>(isa) <= static_cast<int>(cpu_isa_supported())) out.push_back(isa);
  return out;
}

// Forces one instruction set's kernels for a scope.
struct ForcedIsa {
  explicit ForcedIsa(Isa isa) { kernels::set_vector_kernels_override(&kernels::vector_kernels_for(isa)); }
  ~ForcedIsa() { kernels::set_vector_kernels_override(nullptr); }
  ForcedIsa(const ForcedIsa&) = delete;
  ForcedIsa& operator=(const ForcedIsa&) = delete;
};

std::vector<float> values(std::int64_t n, Rng& rng, float lo, float hi) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

// |got - want| <= bound, with the position in the message.
void check_within(const char* what, std::size_t j, double got, double want, double bound) {
  INFO(what << " element " << j << ": got " << got << ", want " << want << ", bound " << bound);
  CHECK(std::abs(got - want) <= bound);
}

const std::vector<std::int64_t> kLengths = {1, 3, 8, 17, 64, 1000};

void check_softmax(const VectorKernels& k, Rng& rng) {
  for (std::int64_t n : kLengths) {
    INFO("n = " << n);
    const std::vector<float> x = values(n, rng, -5.0f, 5.0f);
    std::vector<float> mask(static_cast<std::size_t>(n), 0.0f);
    for (std::int64_t j = 0; j < n; ++j)
      mask[std::size_t(j)] = j % 5 == 4 ? kNegInf : (j % 3 == 1 ? -3.0f : 0.0f);
    if (n > 1) mask[std::size_t(n - 1)] = kNegInf;  // masked keys at the end, as padding makes them
    for (const bool log : {false, true}) {
      std::vector<float> y(x.size());
      k.softmax_row(x.data(), mask.data(), 1, y.data(), n, log);
      double mx = -INFINITY, sum = 0.0;
      for (std::int64_t j = 0; j < n; ++j) mx = std::max(mx, double(x[j]) + mask[j]);
      for (std::int64_t j = 0; j < n; ++j) sum += std::exp(double(x[j]) + mask[j] - mx);
      for (std::int64_t j = 0; j < n; ++j) {
        const double z = double(x[j]) + mask[j];
        if (z == -INFINITY) {
          CHECK(y[j] == (log ? kNegInf : 0.0f));
          continue;
        }
        // z and z - max rounded (|z| + |z - max| <= 26: 26 u), exp 2 ulp, the
        // sum (n u), the division or the log and subtraction (a few u).
        const double shift = z - mx;
        if (log)
          check_within("log_softmax", j, y[j], shift - std::log(sum),
                       (26.0 + double(n) + 4.0 + std::abs(std::log(sum)) + std::abs(shift)) * u);
        else
          check_within("softmax", j, y[j], std::exp(shift) / sum, (26.0 + 2.0 + double(n) + 4.0) * u * std::exp(shift) / sum);
      }
    }
    // Every position masked: zeros (softmax), -inf (log_softmax).
    std::vector<float> all(x.size(), kNegInf), y(x.size());
    k.softmax_row(x.data(), all.data(), 1, y.data(), n, false);
    for (float v : y) CHECK(v == 0.0f);
    k.softmax_row(x.data(), all.data(), 1, y.data(), n, true);
    for (float v : y) CHECK(v == kNegInf);
  }
}

void check_softmax_backward(const VectorKernels& k, Rng& rng) {
  for (std::int64_t n : kLengths) {
    INFO("n = " << n);
    const std::vector<float> y = values(n, rng, 0.0f, 1.0f), dy = values(n, rng, -1.0f, 1.0f);
    std::vector<float> dx(y.size(), 0.5f);
    k.softmax_backward_row(y.data(), dy.data(), dx.data(), n);
    double dot = 0.0, mag = 0.0;
    for (std::int64_t j = 0; j < n; ++j) dot += double(dy[j]) * y[j], mag += std::abs(double(dy[j]) * y[j]);
    // dot: n products and n - 1 additions (n u mag); then y (dy - dot) + 0.5: 3 roundings.
    for (std::int64_t j = 0; j < n; ++j)
      check_within("softmax backward", std::size_t(j), dx[j], 0.5 + y[j] * (dy[j] - dot),
                   y[j] * (double(n) * u * mag + 2.0 * u * (std::abs(dy[j]) + std::abs(dot))) + 2.0 * u * (0.5 + 2.0));
    // log_softmax backward: y holds log-probabilities, one -inf.
    std::vector<float> ly(y.size());
    for (std::int64_t j = 0; j < n; ++j) ly[j] = std::log(y[j] + 0.01f);
    ly[0] = kNegInf;
    std::fill(dx.begin(), dx.end(), 0.5f);
    k.log_softmax_backward_row(ly.data(), dy.data(), dx.data(), n);
    double total = 0.0, tmag = 0.0;
    for (std::int64_t j = 1; j < n; ++j) total += dy[j], tmag += std::abs(dy[j]);
    CHECK(dx[0] == 0.5f);
    for (std::int64_t j = 1; j < n; ++j) {
      const double p = std::exp(double(ly[j]));
      check_within("log_softmax backward", std::size_t(j), dx[j], 0.5 + dy[j] - p * total,
                   p * (double(n) * u * tmag + 3.0 * u * std::abs(total)) + 3.0 * u * (0.5 + 1.0 + std::abs(p * total)));
    }
  }
}

void check_layer_norm(const VectorKernels& k, Rng& rng) {
  for (std::int64_t n : kLengths) {
    INFO("n = " << n);
    const std::vector<float> x = values(n, rng, 1.0f, 3.0f), gamma = values(n, rng, 0.5f, 1.5f),
                             beta = values(n, rng, -1.0f, 1.0f), dy = values(n, rng, -1.0f, 1.0f);
    std::vector<float> y(x.size()), stats(2);
    const float eps = 1e-5f;
    k.layer_norm_row(x.data(), gamma.data(), beta.data(), eps, n, y.data(), stats.data());
    double mean = 0.0, var = 0.0;
    for (float v : x) mean += v;
    mean /= double(n);
    for (float v : x) var += (v - mean) * (v - mean);
    const double rstd = 1.0 / std::sqrt(var / double(n) + eps);
    // mean: n u relative to mean(|x|) = mean (x > 0); the two-pass variance and
    // rstd: (n + 4) u relative; xhat = (x - mean) rstd: its error from mean's
    // (n u |mean| rstd) and rstd's ((n + 4) u |xhat|); then 3 roundings.
    for (std::int64_t j = 0; j < n; ++j) {
      const double xhat = (x[j] - mean) * rstd;
      const double bound = gamma[j] * (double(n) * u * mean * rstd + (double(n) + 6.0) * u * std::abs(xhat)) +
                           3.0 * u * (std::abs(xhat * gamma[j]) + std::abs(beta[j]));
      check_within("layer_norm", std::size_t(j), y[j], xhat * gamma[j] + beta[j], bound);
    }
    CHECK(std::abs(stats[0] - mean) <= double(n) * u * mean);
    CHECK(std::abs(stats[1] - rstd) <= (double(n) + 6.0) * u * rstd);
    // Backward from the kernel's own stats: dx, dgamma, dbeta.
    std::vector<float> dx(x.size(), 0.0f), dgamma(x.size(), 0.0f), dbeta(x.size(), 0.0f);
    k.layer_norm_backward_row(x.data(), gamma.data(), dy.data(), stats.data(), n, dx.data(), dgamma.data(), dbeta.data());
    const double m = stats[0], r = stats[1];
    double s1 = 0.0, s2 = 0.0, mag1 = 0.0, mag2 = 0.0;
    for (std::int64_t j = 0; j < n; ++j) {
      const double xh = (x[j] - m) * r, d = double(dy[j]) * gamma[j];
      s1 += d, s2 += d * xh, mag1 += std::abs(d), mag2 += std::abs(d * xh);
    }
    for (std::int64_t j = 0; j < n; ++j) {
      const double xh = (x[j] - m) * r;
      CHECK(dbeta[j] == dy[j]);
      check_within("layer_norm dgamma", std::size_t(j), dgamma[j], dy[j] * xh, 4.0 * u * std::abs(dy[j] * xh));
      // The two means (n u of their magnitudes, over n), xhat (3 u), then 4 roundings.
      const double want = r * (double(dy[j]) * gamma[j] - s1 / double(n) - xh * s2 / double(n));
      const double bound = r * (double(n) * u * (mag1 + std::abs(xh) * mag2) / double(n) +
                                6.0 * u * (std::abs(dy[j] * gamma[j]) + std::abs(s1) / double(n) + std::abs(xh * s2) / double(n)));
      check_within("layer_norm dx", std::size_t(j), dx[j], want, bound);
    }
  }
}

void check_cross_entropy(const VectorKernels& k, Rng& rng) {
  for (std::int64_t n : kLengths) {
    INFO("n = " << n);
    const std::vector<float> x = values(n, rng, -5.0f, 5.0f);
    float sum_x = 0.0f;
    const float lse = k.logsumexp_row(x.data(), n, &sum_x);
    double mx = -INFINITY, s = 0.0, sx = 0.0, mag = 0.0;
    for (float v : x) mx = std::max(mx, double(v)), sx += v, mag += std::abs(v);
    for (float v : x) s += std::exp(v - mx);
    // x - max rounded (10 u), exp 2 ulp, the sum n u; log and the add: a few u.
    check_within("logsumexp", 0, lse, mx + std::log(s), (double(n) + 16.0) * u + 2.0 * u * std::abs(mx + std::log(s)));
    check_within("sum of x", 0, sum_x, sx, double(n) * u * mag);
    std::vector<float> dx(x.size(), 0.25f);
    const float g = 0.3f, smooth = 0.01f;
    k.cross_entropy_backward_row(x.data(), lse, g, smooth, n, dx.data());
    for (std::int64_t j = 0; j < n; ++j) {
      const double p = std::exp(double(x[j]) - lse);
      // x - lse rounded (|x - lse| u), exp 2 ulp, then 3 roundings.
      check_within("cross_entropy backward", std::size_t(j), dx[j], 0.25 + g * (p - smooth),
                   g * p * (std::abs(double(x[j]) - lse) + 2.0) * u + 3.0 * u * (0.25 + g * (p + smooth)));
    }
  }
}

void check_activations(const VectorKernels& k, Rng& rng) {
  const std::int64_t n = 1003;  // not a multiple of any vector width
  std::vector<float> x = values(n, rng, -6.0f, 6.0f), dy = values(n, rng, -1.0f, 1.0f);
  x[0] = 0.0f, x[1] = -0.0f;
  std::vector<float> y(x.size()), dx(x.size());
  k.relu(x.data(), y.data(), n);
  for (std::int64_t j = 0; j < n; ++j) CHECK(y[j] == (x[j] > 0.0f ? x[j] : 0.0f));
  k.relu_backward(x.data(), dy.data(), dx.data(), n, false);
  for (std::int64_t j = 0; j < n; ++j) CHECK(dx[j] == (x[j] > 0.0f ? dy[j] : 0.0f));
  k.relu_backward(x.data(), dy.data(), dx.data(), n, true);
  for (std::int64_t j = 0; j < n; ++j) CHECK(dx[j] == (x[j] > 0.0f ? 2.0f * dy[j] : 0.0f));

  k.tanh(x.data(), y.data(), n);
  for (std::int64_t j = 0; j < n; ++j) check_within("tanh", std::size_t(j), y[j], std::tanh(double(x[j])), 4.0 * u * std::abs(std::tanh(double(x[j]))));
  k.sigmoid(x.data(), y.data(), n);
  for (std::int64_t j = 0; j < n; ++j) {
    const double want = 1.0 / (1.0 + std::exp(-double(x[j])));
    check_within("sigmoid", std::size_t(j), y[j], want, 4.0 * u * want);
  }
  k.exp(x.data(), y.data(), n);
  for (std::int64_t j = 0; j < n; ++j)
    check_within("exp", std::size_t(j), y[j], std::exp(double(x[j])), 2.0 * u * std::exp(double(x[j])));

  k.gelu(x.data(), y.data(), n);
  k.gelu_backward(x.data(), dy.data(), dx.data(), n, false);
  for (std::int64_t j = 0; j < n; ++j) {
    const double v = x[j], cdf = 0.5 * std::erfc(-v / std::sqrt(2.0)), pdf = std::exp(-0.5 * v * v) / std::sqrt(2 * M_PI);
    // normal_cdf within 8 ulp, times x: 9 u relative.
    check_within("gelu", std::size_t(j), y[j], v * cdf, 9.0 * u * std::abs(v * cdf));
    // cdf (8 ulp) + x pdf (exp 2 ulp, its argument 0.5 x^2 rounded: x^2 u, 3 products), then dy.
    const double d = cdf + v * pdf;
    check_within("gelu backward", std::size_t(j), dx[j], d * dy[j],
                 (9.0 * cdf + (6.0 + v * v) * std::abs(v * pdf) + 2.0 * std::abs(d)) * u * std::abs(dy[j]));
  }
}

void check_dropout(const VectorKernels& k, Rng& rng) {
  const std::int64_t n = 1003;
  const std::vector<float> x = values(n, rng, -1.0f, 1.0f);
  const detail::DropoutMask mask(0.3f, 12345, 678);
  for (const std::uint32_t first : {0u, 5u, 4294967290u}) {  // the last wraps around 2^32
    std::vector<float> y(x.size(), 0.5f), acc(x.size(), 0.5f);
    k.dropout(x.data(), y.data(), n, mask.key, mask.threshold, mask.scale, first, false);
    k.dropout(x.data(), acc.data(), n, mask.key, mask.threshold, mask.scale, first, true);
    std::int64_t dropped = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      const float factor = mask(std::uint64_t(std::uint32_t(first + std::uint32_t(j))));
      const float want = x[j] * factor;
      CHECK(y[j] == want);  // the same mask, one rounded product
      // accumulating: the product rounded (or not: it may be fused with the add), then the sum
      const double exact = 0.5 + double(x[j]) * factor;
      CHECK(std::abs(acc[j] - exact) <= u * (std::abs(double(x[j]) * factor) + std::abs(exact)));
      dropped += want == 0.0f;
    }
    CHECK(dropped > n / 5);  // p = 0.3
    CHECK(dropped < n * 2 / 5);
  }
}

void check_adam(const VectorKernels& k, Rng& rng) {
  const std::int64_t n = 1003;
  for (const bool decoupled : {false, true}) {
    INFO("decoupled " << decoupled);
    const std::vector<float> w0 = values(n, rng, -1.0f, 1.0f), g = values(n, rng, -1.0f, 1.0f),
                             m0 = values(n, rng, -0.1f, 0.1f), v0 = values(n, rng, 0.0f, 0.01f);
    std::vector<float> w = w0, m = m0, v = v0;
    const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.01f;
    const float c1 = 1.0f - std::pow(b1, 3.0f), c2 = 1.0f - std::pow(b2, 3.0f);
    const kernels::AdamStep step{b1, b2, eps, wd, lr, lr / c1, 1.0f / std::sqrt(c2), decoupled};
    k.adam(w.data(), g.data(), m.data(), v.data(), n, step);
    for (std::int64_t j = 0; j < n; ++j) {
      const double wj = decoupled ? w0[j] - double(lr) * wd * w0[j] : double(w0[j]);
      const double grad = decoupled ? double(g[j]) : g[j] + double(wd) * w0[j];
      const double mj = double(b1) * m0[j] + (1.0 - double(b1)) * grad;
      const double vj = double(b2) * v0[j] + (1.0 - double(b2)) * grad * grad;
      const double update = double(step.step_size) * mj / (std::sqrt(vj) * double(step.inv_sqrt_c2) + eps);
      // m, v: 4 roundings each (of terms below 2 |m| + |g|); the update: 5 more.
      check_within("adam m", std::size_t(j), m[j], mj, 4.0 * u * (std::abs(m0[j]) + std::abs(grad)));
      check_within("adam v", std::size_t(j), v[j], vj, 5.0 * u * (v0[j] + grad * grad));
      check_within("adam w", std::size_t(j), w[j], wj - update, 3.0 * u * std::abs(w0[j]) + 16.0 * u * std::abs(update));
    }
  }
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

void check_gates(const VectorKernels& k, Rng& rng) {
  for (std::int64_t H : {1, 7, 33}) {
    INFO("H = " << H);
    // GRU: each gate is a 4-ulp activation of a sum of three floats below 4.5 in
    // magnitude (2 roundings: 9 u, times a slope <= 1): under 16 u absolute; the
    // new state n + z (h - n) adds 3 roundings of values below 2 and the gates'
    // errors twice over: under 64 u.
    const std::vector<float> x = values(3 * H, rng, -2.0f, 2.0f), bias = values(3 * H, rng, -0.5f, 0.5f),
                             h0 = values(H, rng, -1.0f, 1.0f);
    std::vector<float> g = values(3 * H, rng, -2.0f, 2.0f), gates(3 * std::size_t(H)), h = h0, out(static_cast<std::size_t>(H));
    const std::vector<float> g0 = g;
    k.gru_row(x.data(), g.data(), bias.data(), gates.data(), h.data(), out.data(), H);
    for (std::int64_t j = 0; j < H; ++j) {
      const double r = sigmoid(double(x[j]) + g0[j] + bias[j]);
      const double z = sigmoid(double(x[H + j]) + g0[H + j] + bias[H + j]);
      const double gn = double(g0[2 * H + j]) + bias[2 * H + j];
      const double nn = std::tanh(x[2 * H + j] + r * gn);
      check_within("gru r", std::size_t(j), gates[j], r, 16.0 * u);
      check_within("gru z", std::size_t(j), gates[H + j], z, 16.0 * u);
      check_within("gru n", std::size_t(j), gates[2 * H + j], nn, 32.0 * u);
      check_within("gru h", std::size_t(j), h[j], nn + z * (h0[j] - nn), 64.0 * u);
      CHECK(out[j] == h[j]);
    }
    // LSTM, the same way: c = f c0 + i g (gates under 16 u each, 3 roundings),
    // h = o tanh(c) (c's error, 4 ulp, o's error, a product).
    const std::vector<float> lx = values(4 * H, rng, -2.0f, 2.0f), lb = values(4 * H, rng, -0.5f, 0.5f),
                             c0 = values(H, rng, -1.0f, 1.0f);
    std::vector<float> a = values(4 * H, rng, -2.0f, 2.0f), c = c0, tc(static_cast<std::size_t>(H)), lh(static_cast<std::size_t>(H)),
                       lout(static_cast<std::size_t>(H));
    const std::vector<float> a0 = a;
    k.lstm_row(lx.data(), a.data(), lb.data(), c.data(), tc.data(), lh.data(), lout.data(), H);
    for (std::int64_t j = 0; j < H; ++j) {
      const double in = sigmoid(double(lx[j]) + a0[j] + lb[j]);
      const double f = sigmoid(double(lx[H + j]) + a0[H + j] + lb[H + j]);
      const double cell = std::tanh(double(lx[2 * H + j]) + a0[2 * H + j] + lb[2 * H + j]);
      const double o = sigmoid(double(lx[3 * H + j]) + a0[3 * H + j] + lb[3 * H + j]);
      const double cj = f * c0[j] + in * cell;
      check_within("lstm c", std::size_t(j), c[j], cj, 64.0 * u);
      check_within("lstm h", std::size_t(j), lh[j], o * std::tanh(cj), 96.0 * u);
      CHECK(lout[j] == lh[j]);
    }
  }
}

void check_attention_rows(const VectorKernels& k, Rng& rng) {
  for (std::int64_t n : kLengths) {
    INFO("n = " << n);
    std::vector<float> row = values(n, rng, -5.0f, 5.0f);
    if (n > 2) row[std::size_t(n - 1)] = row[std::size_t(n - 2)] = kNegInf;  // padding at the end
    double mx = -INFINITY;
    for (float v : row) mx = std::max(mx, double(v));
    CHECK(k.row_max(row.data(), n, -100.0f) == float(mx));
    CHECK(k.row_max(row.data(), n, 100.0f) == 100.0f);
    const std::vector<float> before = row;
    const float sum = k.exp_shift_sum(row.data(), n, float(mx));
    double want = 0.0;
    for (std::int64_t j = 0; j < n; ++j) {
      if (before[j] == kNegInf) {
        CHECK(row[j] == 0.0f);
        continue;
      }
      const double e = std::exp(double(before[j]) - mx);
      want += e;
      check_within("exp_shift_sum row", std::size_t(j), row[j], e, 12.0 * u * e);  // |x - max| <= 10: 10 u + 2 ulp
    }
    check_within("exp_shift_sum", 0, sum, want, (12.0 + double(n)) * u * want);
    std::vector<float> normalized = before;
    k.exp_normalize(normalized.data(), n, float(mx));
    for (std::int64_t j = 0; j < n; ++j) {
      const double p = before[j] == kNegInf ? 0.0 : std::exp(double(before[j]) - mx) / want;
      check_within("exp_normalize", std::size_t(j), normalized[j], p, (14.0 + double(n)) * u * p);
    }
    std::vector<float> shifted = before;
    k.exp_shift(shifted.data(), n, 1.5f);
    for (std::int64_t j = 0; j < n; ++j) {
      const double e = std::exp(double(before[j]) - 1.5);
      if (before[j] == kNegInf) CHECK(shifted[j] == 0.0f);
      else check_within("exp_shift", std::size_t(j), shifted[j], e, 9.0 * u * e);  // |x - 1.5| <= 7: 7 u + 2 ulp
    }
  }
}

// int8: the row maximum exactly, quantised values exactly nearbyint's (ties to
// even, clamped), and the dequantised row within 3u of the double value (two
// products and an addition, each rounded once or contracted into an FMA).
void check_int8_rows(const VectorKernels& k, Rng& rng) {
  for (std::int64_t n : {1, 7, 16, 33, 300}) {
    std::vector<float> x = values(n, rng, -3.0f, 3.0f);
    if (n > 2) x[1] = 2.5f, x[2] = -0.5f;  // exact ties once scaled by 1
    float amax = 0.0f;
    for (float v : x) amax = std::max(amax, std::fabs(v));
    CHECK(k.abs_max(x.data(), n) == amax);
    for (float inv : {1.0f, 127.0f / amax, 1000.0f}) {  // 1000: every value clamps
      std::vector<std::int8_t> q(static_cast<std::size_t>(n));
      k.quantize_s8(x.data(), n, inv, q.data());
      for (std::int64_t i = 0; i < n; ++i) {
        const float want = std::min(std::max(std::nearbyint(x[i] * inv), -127.0f), 127.0f);
        INFO("n " << n << " inv " << inv << " at " << i << ": x " << x[i]);
        REQUIRE(float(q[std::size_t(i)]) == want);
      }
    }
    std::vector<std::int32_t> acc(static_cast<std::size_t>(n));
    for (auto& a : acc) a = std::int32_t(rng.uniform(-2e6f, 2e6f));
    const std::vector<float> sw = values(n, rng, 1e-4f, 1e-2f), bias = values(n, rng, -1.0f, 1.0f);
    for (bool relu : {false, true}) {
      std::vector<float> y(static_cast<std::size_t>(n));
      k.dequantize_row(acc.data(), 0.02f, sw.data(), bias.data(), relu, y.data(), n);
      for (std::int64_t j = 0; j < n; ++j) {
        const double p = double(acc[j]) * (double(0.02f) * double(sw[j])), want = p + bias[j];
        const double r = relu ? std::max(want, 0.0) : want;
        check_within("dequantize_row", std::size_t(j), y[j], r, 3.0 * u * (std::fabs(p) + std::fabs(bias[j])));
      }
    }
  }
}

// bf16 rounding: every path gives the generic path's bits (integer arithmetic),
// which round to nearest with ties to even; NaN stays NaN, infinities stay.
void check_to_bf16(const VectorKernels& k, Rng& rng) {
  std::vector<float> x = values(1000, rng, -1e3f, 1e3f);
  x[0] = 1.0f + 1.0f / 256;  // a tie: down to 1
  x[1] = 1.0f + 3.0f / 256;  // a tie: up to 1 + 4/256
  x[2] = std::numeric_limits<float>::quiet_NaN();
  x[3] = -std::numeric_limits<float>::infinity();
  x[4] = std::numeric_limits<float>::max();  // rounds up to inf
  std::vector<std::uint16_t> got(x.size()), want(x.size());
  k.to_bf16(x.data(), got.data(), std::int64_t(x.size()));
  kernels::vector_kernels_generic.to_bf16(x.data(), want.data(), std::int64_t(x.size()));
  CHECK(got == want);
  CHECK(got[0] == 0x3F80);
  CHECK(got[1] == 0x3F82);
  CHECK((got[2] & 0x7F80) == 0x7F80);
  CHECK((got[2] & 0x007F) != 0);
  CHECK(got[3] == 0xFF80);
  CHECK(got[4] == 0x7F80);
  for (std::size_t i = 5; i < x.size(); ++i) {
    std::uint32_t bits = std::uint32_t(got[i]) << 16;
    float back;
    std::memcpy(&back, &bits, sizeof back);
    REQUIRE(std::fabs(double(back) - double(x[i])) <= std::fabs(double(x[i])) / 256.0);  // half a step: 2^-8 of the value
  }
}

}  // namespace

TEST_CASE("dispatch: the kernels follow the CPU, and a set the CPU lacks is refused", "[dispatch]") {
  CHECK(kernels::vector_kernels().isa == cpu_isa());
  for (Isa isa : supported_isas()) CHECK(kernels::vector_kernels_for(isa).isa == isa);
  if (cpu_isa_supported() != Isa::avx512) {
    const Isa missing = static_cast<Isa>(static_cast<int>(cpu_isa_supported()) + 1);
    REQUIRE_THROWS_WITH(kernels::vector_kernels_for(missing), Catch::Contains("this CPU does not have"));
  }
  {
    ForcedIsa forced(Isa::generic);
    CHECK(kernels::vector_kernels().isa == Isa::generic);
  }
  CHECK(kernels::vector_kernels().isa == cpu_isa());
  REQUIRE_THROWS_WITH(parse_isa("sse9"), Catch::Contains("generic, avx2, avx512"));
}

TEST_CASE("dispatch: every kernel against a double reference, on every instruction set", "[dispatch]") {
  for (Isa isa : supported_isas()) {
    DYNAMIC_SECTION(isa_name(isa)) {
      const VectorKernels& k = kernels::vector_kernels_for(isa);
      Rng rng(2600 + static_cast<int>(isa));
      check_softmax(k, rng);
      check_softmax_backward(k, rng);
      check_layer_norm(k, rng);
      check_cross_entropy(k, rng);
      check_activations(k, rng);
      check_dropout(k, rng);
      check_adam(k, rng);
      check_gates(k, rng);
      check_attention_rows(k, rng);
      check_int8_rows(k, rng);
      check_to_bf16(k, rng);
    }
  }
}

TEST_CASE("dispatch: gradients of the dispatched ops on every instruction set", "[dispatch][gradcheck]") {
  for (Isa isa : supported_isas()) {
    DYNAMIC_SECTION(isa_name(isa)) {
      ForcedIsa forced(isa);
      Rng rng(2700);
      const Variable x = param(uniform({3, 9}, rng, -2.0f, 2.0f));
      Tensor mask = Tensor::zeros({3, 9});
      mask.data()[8] = mask.data()[17] = -INFINITY;
      require_gradients_match([&] { return softmax(x, mask); }, {x});
      Tensor masked = Tensor::zeros({3, 9});  // log_softmax is -inf there: zeroed as a loss would
      masked.data()[8] = masked.data()[17] = 1.0f;
      require_gradients_match([&] { return masked_fill(log_softmax(x, mask), masked, 0.0f); }, {x});
      require_gradients_match([&] { return gelu(x); }, {x});
      const Variable xr = param(test::away_from_zero({3, 9}, rng));
      require_gradients_match([&] { return relu(xr); }, {xr});
      const Variable gamma = param(uniform({9}, rng, 0.5f, 1.5f)), beta = param(uniform({9}, rng));
      require_gradients_match([&] { return layer_norm(x, gamma, beta); }, {x, gamma, beta});
      const IndexTensor targets({3}, {1, 0, 8});
      require_gradients_match([&] { return cross_entropy(x, targets, -100, 0.1f); }, {x});
      const std::int64_t B = 2, T = 3, H = 4;
      const Variable gi = param(uniform({B, T, 3 * H}, rng)), h0 = param(uniform({B, H}, rng));
      const Variable w = param(uniform({3 * H, H}, rng)), bias = param(uniform({3 * H}, rng));
      require_gradients_match([&] { return gru_sequence(gi, h0, w, bias, {3, 2}, false).output; }, {gi, h0, w, bias});
      const Variable li = param(uniform({B, T, 4 * H}, rng)), c0 = param(uniform({B, H}, rng));
      const Variable lw = param(uniform({4 * H, H}, rng)), lb = param(uniform({4 * H}, rng));
      require_gradients_match([&] { return lstm_sequence(li, h0, c0, lw, lb, {3, 2}, false).output; },
                              {li, h0, c0, lw, lb});
      const AttentionKernel saved = attention_kernel();
      set_attention_kernel(AttentionKernel::tiled);
      const Variable q = param(uniform({2, 5, 6}, rng)), kk = param(uniform({2, 7, 6}, rng)),
                     v = param(uniform({2, 7, 4}, rng));
      const Tensor pad = key_padding_mask({5, 7}, 7);
      require_gradients_match([&] { return packed_attention(q, kk, v, 2, pad, true, 0.0f, false, nullptr); },
                              {q, kk, v});
      set_attention_kernel(saved);
    }
  }
}

TEST_CASE("dispatch: XSEQ_ISA picks the kernels of a command, and a bad value is a clear error", "[dispatch][cli]") {
  const std::string cli = XSEQ_CLI;
  auto run = [&](const std::string& env) {
    std::string out;
    FILE* p = ::popen((env + " " + cli + " version 2>&1; echo \"exit=$?\"").c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
    return out;
  };
  for (Isa isa : supported_isas()) {
    const std::string out = run(std::string("XSEQ_ISA=") + isa_name(isa));
    INFO(out);
    CHECK(out.find(std::string("kernels: ") + isa_name(isa)) != std::string::npos);
    CHECK(out.find("exit=0") != std::string::npos);
  }
  const std::string bad = run("XSEQ_ISA=avx9000");
  INFO(bad);
  CHECK(bad.find("XSEQ_ISA='avx9000' is not one of generic, avx2, avx512") != std::string::npos);
  CHECK(bad.find("exit=1") != std::string::npos);
}
