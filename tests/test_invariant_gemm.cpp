// The batch-invariant product (framework/kernels/invariant_gemm.hpp) on every
// instruction set this CPU has: accurate to the float rounding bound, and each
// element the same bits whatever the matrix sizes, the element's position, the
// tile split and the thread count.
#include <cfloat>
#include <array>
#include <cstring>

#include "framework/blas.hpp"
#include "framework/cpu.hpp"
#include "framework/kernels/invariant_gemm.hpp"
#include "helpers.hpp"

using namespace xseq;

namespace {

struct Operands {
  std::int64_t M, N, K;
  bool tb;
  std::vector<float> a, b;  // a: M x K row-major; b: K x N, or N x K when tb
};

Operands random_operands(std::int64_t M, std::int64_t N, std::int64_t K, bool tb, std::uint64_t seed) {
  Rng rng(seed);
  Operands o{M, N, K, tb, std::vector<float>(std::size_t(M * K)), std::vector<float>(std::size_t(K * N))};
  for (auto& x : o.a) x = rng.uniform(-1, 1);
  for (auto& x : o.b) x = rng.uniform(-1, 1);
  return o;
}

float b_at(const Operands& o, std::int64_t k, std::int64_t j) { return o.tb ? o.b[std::size_t(j * o.K + k)] : o.b[std::size_t(k * o.N + j)]; }

// C = alpha A op(B) + beta C through one ISA's tile function, over [m0,m1) x [n0,n1).
std::vector<float> run_tile(detail::InvariantGemmTile tile, const Operands& o, float alpha, float beta,
                            const std::vector<float>& c0, std::int64_t m0, std::int64_t m1, std::int64_t n0,
                            std::int64_t n1) {
  std::vector<float> c = c0;
  const detail::InvariantGemm g{o.tb, o.M, o.N, o.K, alpha, o.a.data(), o.K, o.b.data(), o.tb ? o.K : o.N,
                                beta, c.data(), o.N};
  tile(g, m0, m1, n0, n1);
  return c;
}

std::vector<std::pair<const char*, detail::InvariantGemmTile>> tiles_of_this_cpu() {
  std::vector<std::pair<const char*, detail::InvariantGemmTile>> out{{"generic", detail::invariant_gemm_tile_generic()}};
  if (cpu_isa_supported() >= Isa::avx2) out.push_back({"avx2", detail::invariant_gemm_tile_avx2()});
  if (cpu_isa_supported() >= Isa::avx512) out.push_back({"avx512", detail::invariant_gemm_tile_avx512()});
  return out;
}

}  // namespace

TEST_CASE("invariant gemm: within the float rounding bound of a double product, on every ISA", "[gemm][invariance]") {
  for (const auto& [isa, tile] : tiles_of_this_cpu())
    for (bool tb : {false, true})
      for (std::int64_t K : {1, 7, 16, 17, 64, 100, 257})
        for (std::int64_t N : {1, 3, 4, 5, 31, 33, 70}) {
          const std::int64_t M = 9;
          const Operands o = random_operands(M, N, K, tb, std::uint64_t(K * 131 + N));
          std::vector<float> c0(std::size_t(M * N));
          Rng rng(5);
          for (auto& x : c0) x = rng.uniform(-1, 1);
          const float alpha = 0.75f, beta = 0.5f;
          const std::vector<float> c = run_tile(tile, o, alpha, beta, c0, 0, M, 0, N);
          for (std::int64_t i = 0; i < M; ++i)
            for (std::int64_t j = 0; j < N; ++j) {
              double exact = 0, magnitude = 0;
              for (std::int64_t k = 0; k < K; ++k) {
                const double p = double(o.a[std::size_t(i * K + k)]) * double(b_at(o, k, j));
                exact += p;
                magnitude += std::abs(p);
              }
              const double want = alpha * exact + beta * double(c0[std::size_t(i * N + j)]);
              // A sum of K float products has a relative error of at most about
              // K * eps (eps = FLT_EPSILON, twice the unit roundoff) of the sum of
              // their magnitudes, whatever the order; alpha, beta and the final
              // addition add three more roundings.
              const double bound = (double(K) + 3) * FLT_EPSILON * (alpha * magnitude + beta * 1.0) + 1e-30;
              INFO(isa << " tb " << tb << " M " << M << " N " << N << " K " << K << " element " << i << "," << j);
              REQUIRE(std::abs(double(c[std::size_t(i * N + j)]) - want) <= bound);
            }
        }
}

TEST_CASE("invariant gemm: an element's bits do not depend on the matrix size, its position or the tiling",
          "[gemm][invariance]") {
  for (const auto& [isa, tile] : tiles_of_this_cpu())
    for (bool tb : {false, true})
      for (std::int64_t K : {5, 64, 100}) {
        const std::int64_t M = 23, N = 77;
        const Operands big = random_operands(M, N, K, tb, std::uint64_t(K));
        const std::vector<float> zero(std::size_t(M * N), 0.0f);
        const std::vector<float> whole = run_tile(tile, big, 1.0f, 0.0f, zero, 0, M, 0, N);
        INFO(isa << " tb " << tb << " K " << K);
        // The same matrices computed in pieces: every split of rows and columns.
        for (auto [m0, m1, n0, n1] : std::vector<std::array<std::int64_t, 4>>{
                 {0, 1, 0, N}, {5, 6, 0, N}, {22, 23, 3, 4}, {1, 7, 30, 77}, {3, 23, 0, 1}, {10, 13, 13, 50}}) {
          const std::vector<float> part = run_tile(tile, big, 1.0f, 0.0f, zero, m0, m1, n0, n1);
          for (std::int64_t i = m0; i < m1; ++i)
            REQUIRE(std::memcmp(&part[std::size_t(i * N + n0)], &whole[std::size_t(i * N + n0)],
                                sizeof(float) * std::size_t(n1 - n0)) == 0);
        }
        // Row 5 of the big product alone, as a 1-row matrix (a sentence decoded alone).
        Operands one = big;
        one.M = 1;
        one.a.assign(big.a.begin() + 5 * K, big.a.begin() + 6 * K);
        const std::vector<float> alone = run_tile(tile, one, 1.0f, 0.0f, std::vector<float>(std::size_t(N)), 0, 1, 0, N);
        REQUIRE(std::memcmp(alone.data(), &whole[std::size_t(5 * N)], sizeof(float) * std::size_t(N)) == 0);
      }
}

TEST_CASE("invariant gemm: the same bits with 1 and 2 threads and through xseq::gemm with a transposed A",
          "[gemm][invariance][threads]") {
  const std::int64_t M = 300, N = 200, K = 96;
  for (bool tb : {false, true}) {
    const Operands o = random_operands(M, N, K, tb, 9);
    std::vector<float> one(std::size_t(M * N)), two(std::size_t(M * N)), at_t(std::size_t(M * N));
    set_num_threads(1);
    gemm(GemmKernel::batch_invariant, false, tb, M, N, K, 1.0f, o.a.data(), K, o.b.data(), tb ? K : N, 0.0f,
         one.data(), N);
    set_num_threads(2);
    gemm(GemmKernel::batch_invariant, false, tb, M, N, K, 1.0f, o.a.data(), K, o.b.data(), tb ? K : N, 0.0f,
         two.data(), N);
    // A stored transposed (K x M) gives the same product, bit for bit.
    std::vector<float> at(std::size_t(K * M));
    for (std::int64_t i = 0; i < M; ++i)
      for (std::int64_t k = 0; k < K; ++k) at[std::size_t(k * M + i)] = o.a[std::size_t(i * K + k)];
    gemm(GemmKernel::batch_invariant, true, tb, M, N, K, 1.0f, at.data(), M, o.b.data(), tb ? K : N, 0.0f,
         at_t.data(), N);
    set_num_threads(0);
    CHECK(one == two);
    CHECK(one == at_t);
  }
}

TEST_CASE("gemm kernel: gradients off means batch-invariant products, and the override wins", "[gemm][invariance]") {
  CHECK(gemm_kernel() == GemmKernel::blas);
  {
    NoGradGuard no_grad;
    CHECK(gemm_kernel() == GemmKernel::batch_invariant);
    set_gemm_kernel_override(GemmKernelOverride::blas);
    CHECK(gemm_kernel() == GemmKernel::blas);
    set_gemm_kernel_override(GemmKernelOverride::automatic);
  }
  CHECK(gemm_kernel_name(GemmKernel::batch_invariant).find(isa_name(cpu_isa())) != std::string::npos);
}
