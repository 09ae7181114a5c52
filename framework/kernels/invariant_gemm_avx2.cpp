// The batch-invariant product on AVX2 + FMA: this file alone is compiled with
// those instructions (CMakeLists.txt) and runs only when cpu_isa() says avx2.
// See invariant_gemm.hpp for what "invariant" means.
#include <immintrin.h>

#include "framework/kernels/invariant_gemm.hpp"

namespace xseq::detail {
namespace {

struct Avx2 {
  using V = __m256;
  using Mask = __m256i;
  static constexpr int W = 8;
  static constexpr int kNNRows = 6;              // 6 rows x 16 columns: 12 accumulators
  static constexpr int kFold = 8;  // NT tiles of 8 elements (4 x 2, 2 x 4, 1 x 8): one fold
  [[gnu::always_inline]] static Mask mask(std::int64_t n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n >= 8 ? 8 : n)), lane);
  }
  [[gnu::always_inline]] static V zero() { return _mm256_setzero_ps(); }
  [[gnu::always_inline]] static V load(const float* p) { return _mm256_loadu_ps(p); }
  [[gnu::always_inline]] static V loadz(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  [[gnu::always_inline]] static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  [[gnu::always_inline]] static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  [[gnu::always_inline]] static void store(float* p, Mask m, V v) { _mm256_maskstore_ps(p, m, v); }

  // The 8 accumulators' lane sums: lane l + l+4, then + l+2, + l+1, the same
  // tree for each.
  [[gnu::always_inline]] static void fold(const V* v, float* out) {
    V t[4], u[2];
#pragma GCC unroll 16
    for (int k = 0; k < 4; ++k)
      t[k] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x20),
                           _mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x31));
#pragma GCC unroll 16
    for (int k = 0; k < 2; ++k)
      u[k] = _mm256_add_ps(_mm256_shuffle_ps(t[2 * k], t[2 * k + 1], 0x44),
                           _mm256_shuffle_ps(t[2 * k], t[2 * k + 1], 0xEE));
    const V s = _mm256_add_ps(_mm256_shuffle_ps(u[0], u[1], 0x88), _mm256_shuffle_ps(u[0], u[1], 0xDD));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, s);
    // Lanes hold accumulators 0, 2, 4, 6, 1, 3, 5, 7.
#pragma GCC unroll 16
    for (int i = 0; i < 8; ++i) out[i] = lanes[i % 2 == 0 ? i / 2 : 4 + i / 2];
  }
};

}  // namespace
}  // namespace xseq::detail

#include "framework/kernels/invariant_gemm_simd.hpp"

namespace xseq::detail {
InvariantGemmTile invariant_gemm_tile_avx2() { return &tile<Avx2>; }
}  // namespace xseq::detail
