// The batch-invariant product on AVX-512 (F, BW, DQ, VL): this file alone is
// compiled with those instructions (CMakeLists.txt) and runs only when
// cpu_isa() says avx512. See invariant_gemm.hpp for what "invariant" means.
#include <immintrin.h>

#include "framework/kernels/invariant_gemm.hpp"

namespace xseq::detail {
namespace {

struct Avx512 {
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int W = 16;
  static constexpr int kNNRows = 8;              // 8 rows x 32 columns: 16 accumulators
  static constexpr int kFold = 16;  // NT tiles of 16 elements (4 x 4, 2 x 8, 1 x 16): one fold
  [[gnu::always_inline]] static Mask mask(std::int64_t n) { return n >= 16 ? Mask(0xFFFF) : Mask((1u << n) - 1u); }
  [[gnu::always_inline]] static V zero() { return _mm512_setzero_ps(); }
  [[gnu::always_inline]] static V load(const float* p) { return _mm512_loadu_ps(p); }
  [[gnu::always_inline]] static V loadz(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  [[gnu::always_inline]] static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  [[gnu::always_inline]] static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  [[gnu::always_inline]] static void store(float* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }

  // The 16 accumulators' lane sums: lane l + l+8, then + l+4, + l+2, + l+1, the
  // same tree for each (a transpose-and-add network, 3 ops per element). v: 16
  // accumulators, out: their sums in the same order.
  [[gnu::always_inline]] static void fold(const V* v, float* out) {
    V t[8], u[4], w[2];
#pragma GCC unroll 16
    for (int k = 0; k < 8; ++k)
      t[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0x44),
                           _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0xEE));
#pragma GCC unroll 16
    for (int k = 0; k < 4; ++k)
      u[k] = _mm512_add_ps(_mm512_shuffle_f32x4(t[2 * k], t[2 * k + 1], 0x88),
                           _mm512_shuffle_f32x4(t[2 * k], t[2 * k + 1], 0xDD));
#pragma GCC unroll 16
    for (int k = 0; k < 2; ++k)
      w[k] = _mm512_add_ps(_mm512_shuffle_ps(u[2 * k], u[2 * k + 1], 0x44),
                           _mm512_shuffle_ps(u[2 * k], u[2 * k + 1], 0xEE));
    const V s = _mm512_add_ps(_mm512_shuffle_ps(w[0], w[1], 0x88), _mm512_shuffle_ps(w[0], w[1], 0xDD));
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, s);
    // Lane 4q + p holds accumulator q + 4p: accumulator i sits in lane 4 * (i % 4) + i / 4.
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) out[i] = lanes[4 * (i % 4) + i / 4];
  }
};

}  // namespace
}  // namespace xseq::detail

#include "framework/kernels/invariant_gemm_simd.hpp"

namespace xseq::detail {
InvariantGemmTile invariant_gemm_tile_avx512() { return &tile<Avx512>; }
}  // namespace xseq::detail
