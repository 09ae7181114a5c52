#include "framework/onednn.hpp"

#include <omp.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "framework/cpu.hpp"
#include "framework/error.hpp"
#include "framework/kernels/vector_kernels.hpp"
#include "framework/parallel.hpp"

namespace xseq::onednn {
namespace {

using dnnl::memory;
using dt = dnnl::memory::data_type;

// XSEQ_ISA caps oneDNN as it caps xseq's kernels (before the first primitive).
void cap_isa() {
  switch (cpu_isa()) {
    case Isa::generic: dnnl::set_max_cpu_isa(dnnl::cpu_isa::sse41); break;
    case Isa::avx2: dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2); break;
    default: break;
  }
}

const dnnl::engine& engine() {
  static const dnnl::engine e = [] {
    cap_isa();
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return e;
}

// Per thread: a stream, the primitives this thread made (oneDNN's own cache makes
// a second thread's copy cheap) and scratch for bf16 copies. Serving decodes on
// several threads at once; nothing here is shared between them.
struct ThreadState {
  dnnl::stream stream{engine()};
  std::unordered_map<std::string, dnnl::matmul> primitives;
  std::vector<std::uint16_t> a16, b16;
};
ThreadState& state() {
  thread_local ThreadState s;
  return s;
}

std::atomic<std::size_t> g_created{0};  // only grows; read by tests

// The strides of op(X) (rows x cols) for X stored row-major with row stride ld,
// transposed or not.
memory::dims strides_of(bool trans, std::int64_t ld) { return trans ? memory::dims{1, ld} : memory::dims{ld, 1}; }

dnnl::matmul& primitive(const std::string& key, const memory::desc& a, const memory::desc& b, const memory::desc& c,
                        float alpha, float beta) {
  ThreadState& s = state();
  const auto it = s.primitives.find(key);
  if (it != s.primitives.end()) return it->second;
  dnnl::primitive_attr attr;
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (beta != 0.0f) {
    dnnl::post_ops ops;
    ops.append_sum(beta);
    attr.set_post_ops(ops);
  }
  try {
    const dnnl::matmul::desc desc(a, b, c);
    const dnnl::matmul::primitive_desc pd(desc, attr, engine());
    ++g_created;
    return s.primitives.emplace(key, dnnl::matmul(pd)).first->second;
  } catch (const dnnl::error& e) {
    throw Error(std::string("oneDNN cannot create the matmul ") + key + ": " + e.what());
  }
}

// Copies op-shaped X (rows x cols, stored with `trans` and `ld`) into a compact
// bf16 array of the same orientation; returns its leading dimension.
std::int64_t compact_bf16(const float* X, bool trans, std::int64_t rows, std::int64_t cols, std::int64_t ld,
                          std::vector<std::uint16_t>& out) {
  const std::int64_t outer = trans ? cols : rows, inner = trans ? rows : cols;
  out.resize(static_cast<std::size_t>(outer * inner));
  const auto convert = kernels::vector_kernels().to_bf16;
#pragma omp parallel for if (outer * inner > kParallelGrain && !omp_in_parallel()) schedule(static)
  for (std::int64_t r = 0; r < outer; ++r) convert(X + r * ld, out.data() + r * inner, inner);
  return inner;
}

}  // namespace

void to_bf16(const float* in, std::uint16_t* out, std::int64_t n) { kernels::vector_kernels().to_bf16(in, out, n); }

float bf16_to_float(std::uint16_t v) {
  const std::uint32_t bits = std::uint32_t(v) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// One primitive serves every M (and the strides that follow it): training
// batches and decoding steps change M all the time, and creating a primitive
// costs about a millisecond (brgemm kernels are generated for each).
constexpr auto kRuntime = DNNL_RUNTIME_DIM_VAL;

void gemm(Precision precision, bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
          float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
          std::int64_t ldc) {
  if (M == 0 || N == 0) return;
  XSEQ_CHECK(precision != Precision::int8, "onednn::gemm: int8 products take quantised operands (gemm_s8)");
  if (K == 0) {  // oneDNN refuses empty reductions: C = beta C
    for (std::int64_t i = 0; i < M; ++i)
      for (std::int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  ThreadState& s = state();
  const bool bf16 = precision == Precision::bf16;
  const void* a = A;
  const void* b = B;
  if (bf16) {
    lda = compact_bf16(A, trans_a, M, K, lda, s.a16);
    ldb = compact_bf16(B, trans_b, K, N, ldb, s.b16);
    a = s.a16.data();
    b = s.b16.data();
  }
  const dt in = bf16 ? dt::bf16 : dt::f32;
  // The primitive: M and the leading dimensions at run time; N, K, layouts fixed.
  const memory::desc a_any({kRuntime, K}, in, strides_of(trans_a, kRuntime));
  const memory::desc b_any({K, N}, in, strides_of(trans_b, kRuntime));
  const memory::desc c_any({kRuntime, N}, dt::f32, memory::dims{kRuntime, 1});
  char key[160];
  std::snprintf(key, sizeof key, "%s %d%d Mx%lldx%lld a %a b %a", precision_name(precision), int(trans_a),
                int(trans_b), (long long)N, (long long)K, double(alpha), double(beta));
  dnnl::matmul& mm = primitive(key, a_any, b_any, c_any, alpha, beta);
  const memory::desc a_md({M, K}, in, strides_of(trans_a, lda));
  const memory::desc b_md({K, N}, in, strides_of(trans_b, ldb));
  const memory::desc c_md({M, N}, dt::f32, memory::dims{ldc, 1});
  memory am(a_md, engine(), const_cast<void*>(a)), bm(b_md, engine(), const_cast<void*>(b)), cm(c_md, engine(), C);
  mm.execute(s.stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
  s.stream.wait();
}

void gemm_s8(std::int64_t M, std::int64_t N, std::int64_t K, const std::int8_t* A, const std::int8_t* B,
             std::int32_t* C) {
  if (M == 0 || N == 0) return;
  ThreadState& s = state();
  char key[96];
  std::snprintf(key, sizeof key, "s8 Mx%lldx%lld", (long long)N, (long long)K);
  dnnl::matmul& mm = primitive(key, memory::desc({kRuntime, K}, dt::s8, memory::dims{K, 1}),
                               memory::desc({K, N}, dt::s8, memory::dims{1, K}),
                               memory::desc({kRuntime, N}, dt::s32, memory::dims{N, 1}), 1.0f, 0.0f);
  const memory::desc a_md({M, K}, dt::s8, memory::dims{K, 1});
  const memory::desc b_md({K, N}, dt::s8, memory::dims{1, K});
  const memory::desc c_md({M, N}, dt::s32, memory::dims{N, 1});
  memory am(a_md, engine(), const_cast<std::int8_t*>(A)), bm(b_md, engine(), const_cast<std::int8_t*>(B)),
      cm(c_md, engine(), C);
  mm.execute(s.stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
  s.stream.wait();
}

std::size_t cached_primitives() { return g_created; }

std::string describe() {
  engine();  // applies the ISA cap first
  const dnnl_version_t* v = dnnl_version();
  const char* isa = "unknown";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    default: break;
  }
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) + ", " +
         isa;
}

}  // namespace xseq::onednn
