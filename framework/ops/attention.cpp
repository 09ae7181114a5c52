// packed_attention: multi-head scaled dot-product attention as one op, on the
// heads as they come out of the projections: q (B, Tq, h*dk), k (B, Tk, h*dk),
// v (B, Tk, h*dv), head i in columns [i*d, (i+1)*d). No head split or merge is
// ever copied: each (batch, head) pair is a set of GEMMs with leading dimension
// h*d, run by one thread (an OpenMP loop over the pairs, serial BLAS inside).
// Only the softmax weights P (B, h, Tq, Tk) are kept for backward; the dropout
// mask is regenerated from its hash. Long keys go to the tiled kernel
// (ops/flash_attention.cpp), which keeps no T x T matrix; this one stays for
// short sequences, for the weights `--alignments` reads, and as the tests'
// reference.
//
// Per pair, with scale = 1/sqrt(dk), mask m (padding, causal), dropout D/(1-p):
//   S = scale Q K^T + m,  P = softmax(S),  Pd = P * D/(1-p),  O = Pd V
// Backward:
//   dV = Pd^T dO,  dPd = dO V^T,  dP = dPd * D/(1-p),
//   dS = P * (dP - rowsum(dP * P)),  dQ = scale dS K,  dK = scale dS^T Q
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "framework/blas.hpp"
#include "framework/kernels/vector_kernels.hpp"
#include "framework/ops.hpp"
#include "framework/ops/flash_attention.hpp"
#include "framework/ops/kernels.hpp"
#include "framework/ops/vmath.hpp"

namespace xseq {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

using detail::AttentionShape;
using detail::GradSlots;

// Row i of S holds scale * q_i . k_j. Adds the key padding (b's row of the
// additive mask) and removes keys after the causal limit, then normalises in
// place; a row with every key removed becomes zeros.
void softmax_rows(float* S, const AttentionShape& s, const float* padding, bool causal) {
  const std::int64_t shift = s.Tk - s.Tq;  // queries are the last Tq positions
  const auto exp_normalize = kernels::vector_kernels().exp_normalize;
  for (std::int64_t i = 0; i < s.Tq; ++i) {
    float* row = S + i * s.Tk;
    const std::int64_t visible = causal ? std::min(s.Tk, shift + i + 1) : s.Tk;
    float mx = kNegInf;
    for (std::int64_t j = 0; j < visible; ++j) {
      if (padding) row[j] += padding[j];
      mx = std::max(mx, row[j]);
    }
    if (mx == kNegInf) {
      std::fill(row, row + s.Tk, 0.0f);
      continue;
    }
    exp_normalize(row, visible, mx);  // padding at the row's end stays out of the sum
    std::fill(row + visible, row + s.Tk, 0.0f);
  }
}

// out[i] = in[i] * D(first + i) / (1 - p): dropout's mask over one pair's block
// of the weights, which starts at element `first` of the draw.
void drop(const detail::DropoutMask& mask, const float* in, float* out, std::int64_t n, std::uint64_t first) {
  kernels::vector_kernels().dropout(in, out, n, mask.key, mask.threshold, mask.scale,
                                    static_cast<std::uint32_t>(first), false);
}


AttentionShape check_shapes(const char* op, const Variable& q, const Variable& k, const Variable* v,
                            std::int64_t heads, const Tensor& key_padding, bool causal) {
  XSEQ_CHECK(q.ndim() == 3 && k.ndim() == 3 && (!v || v->ndim() == 3) && heads > 0, op, ": q ", q.shape(), ", k ",
             k.shape(), (v ? " and v " : ""), (v ? v->shape() : Shape{}),
             " must be (batch, time, heads * d) with heads > 0");
  const std::int64_t dv = v ? v->dim(2) / heads : 0;
  const AttentionShape s{q.dim(0), q.dim(1), k.dim(1), heads, q.dim(2) / heads, dv};
  XSEQ_CHECK(q.dim(2) % heads == 0 && k.dim(2) == q.dim(2) && k.dim(0) == s.B &&
                 (!v || (v->dim(2) % heads == 0 && v->dim(0) == s.B && v->dim(1) == s.Tk)),
             op, ": q ", q.shape(), ", k ", k.shape(), (v ? " and v " : ""), (v ? v->shape() : Shape{}),
             " must share the batch, k and v the keys, q and k the width, and widths divide by ", heads, " heads");
  XSEQ_CHECK(!key_padding.defined() || key_padding.shape() == Shape({s.B, s.Tk}), op, ": key_padding ",
             key_padding.shape(), " must be (batch, keys) = ", Shape({s.B, s.Tk}));
  XSEQ_CHECK(!causal || s.Tq <= s.Tk, op, ": causal attention needs no more queries (", s.Tq, ") than keys (",
             s.Tk, ")");
  return s;
}

// P = softmax(scale Q K^T + mask) for one (batch, head) pair, into Pp (Tq x Tk).
void pair_weights(GemmKernel kernel, const AttentionShape& s, std::int64_t pair, const float* q, const float* k,
                  const float* padding, bool causal, float* Pp) {
  gemm(kernel, false, true, s.Tq, s.Tk, s.dk, 1.0f / std::sqrt(float(s.dk)), q + s.q_at(pair), s.ldq(), k + s.k_at(pair),
       s.ldq(), 0.0f, Pp, s.Tk);
  softmax_rows(Pp, s, padding ? padding + (pair / s.heads) * s.Tk : nullptr, causal);
}

// From dP (the gradient reaching P, overwritten) to dQ and dK of one pair:
// dS = P * (dP - rowsum(dP * P)), dQ (+)= scale dS K, dK (+)= scale dS^T Q.
void pair_weights_backward(const AttentionShape& s, std::int64_t pair, const float* Pp, float* dP, const float* q,
                           const float* k, float* dq, float beta_q, float* dk, float beta_k) {
  for (std::int64_t i = 0; i < s.Tq; ++i) {
    const float* prow = Pp + i * s.Tk;
    float* drow = dP + i * s.Tk;
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (std::int64_t j = 0; j < s.Tk; ++j) dot += drow[j] * prow[j];
#pragma omp simd
    for (std::int64_t j = 0; j < s.Tk; ++j) drow[j] = prow[j] * (drow[j] - dot);
  }
  const float scale = 1.0f / std::sqrt(float(s.dk));
  if (dq)
    gemm(GemmKernel::blas, false, false, s.Tq, s.dk, s.Tk, scale, dP, s.Tk, k + s.k_at(pair), s.ldq(), beta_q,
         dq + s.q_at(pair), s.ldq());
  if (dk)
    gemm(GemmKernel::blas, true, false, s.Tk, s.dk, s.Tq, scale, dP, s.Tk, q + s.q_at(pair), s.ldq(), beta_k,
         dk + s.k_at(pair), s.ldq());
}

}  // namespace

detail::GradSlots::GradSlots(const std::vector<Variable>& inputs) {
  bool aliased = false;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    for (std::size_t j = i + 1; j < inputs.size(); ++j) aliased = aliased || inputs[i].impl() == inputs[j].impl();
  for (const Variable& x : inputs) {
    bool fresh = false;
    float* p = !x.requires_grad() ? nullptr : aliased ? x.grad_buffer().data() : x.grad_slot(&fresh).data();
    data.push_back(p);
    beta.push_back(fresh ? 0.0f : 1.0f);
  }
}

Variable packed_attention(const Variable& q, const Variable& k, const Variable& v, std::int64_t heads,
                          const Tensor& key_padding, bool causal, float dropout_p, bool training, Rng* rng,
                          Tensor* weights) {
  const AttentionShape s = check_shapes("packed_attention", q, k, &v, heads, key_padding, causal);
  const bool dropping = training && dropout_p > 0.0f;
  XSEQ_CHECK(!dropping || (rng != nullptr && dropout_p < 1.0f), "packed_attention: dropout needs an Rng and p < 1");
  XSEQ_CHECK(!dropping || s.pairs() * s.Tq * s.Tk < (std::int64_t(1) << 32), "packed_attention: too many weights");
  const std::uint64_t seed = dropping ? rng->seed() : 0;
  const std::uint64_t first = dropping ? rng->reserve(std::uint64_t(s.pairs() * s.Tq * s.Tk)) : 0;
  const detail::DropoutMask mask(dropping ? dropout_p : 0.0f, seed, first);
  // Read once here: the pair loop's threads do not see this thread's NoGradGuard.
  // Attention's products stay fp32 in every precision (docs/precision.md).
  const GemmKernel kernel = fp32_kernel(gemm_kernel());
  // In training, weights asked for (alignments, heatmaps) come from the
  // materialised kernel; inference tiles always and derives them from the
  // logsumexp (the same weights the output used, whatever the batch).
  if (detail::use_tiled_attention(s, kernel) && (!weights || kernel == GemmKernel::batch_invariant))
    return detail::tiled_attention(q, k, v, s, key_padding, causal, dropping, mask, kernel, weights);

  Tensor P({s.B, heads, s.Tq, s.Tk});
  Tensor out({s.B, s.Tq, s.ldv()});
  const float* pq = q.value().data();
  const float* pk = k.value().data();
  const float* pv = v.value().data();
  const float* pad = key_padding.defined() ? key_padding.data() : nullptr;
#pragma omp parallel
  {
    std::vector<float> dropped(dropping ? std::size_t(s.Tq * s.Tk) : 0);
#pragma omp for schedule(static)
    for (std::int64_t pair = 0; pair < s.pairs(); ++pair) {
      float* Pp = P.data() + s.p_offset(pair);
      pair_weights(kernel, s, pair, pq, pk, pad, causal, Pp);
      const float* W = Pp;
      if (dropping) {
        drop(mask, Pp, dropped.data(), s.Tq * s.Tk, std::uint64_t(s.p_offset(pair)));
        W = dropped.data();
      }
      gemm(kernel, false, false, s.Tq, s.dv, s.Tk, 1.0f, W, s.Tk, pv + s.v_at(pair), s.ldv(), 0.0f,
           out.data() + s.o_at(pair), s.ldv());
    }
  }
  if (weights) *weights = P;

  return Variable::from_op("packed_attention", out, {q, k, v}, [q, k, v, P, s, dropping,
                                                                 mask](const Tensor& gout) {
    const GradSlots g({q, k, v});
    const float* pq = q.value().data();
    const float* pk = k.value().data();
    const float* pv = v.value().data();
#pragma omp parallel
    {
      const std::int64_t n = s.Tq * s.Tk;
      std::vector<float> dP(static_cast<std::size_t>(n)), dropped(dropping ? static_cast<std::size_t>(n) : 0);
#pragma omp for schedule(static)
      for (std::int64_t pair = 0; pair < s.pairs(); ++pair) {
        const float* Pp = P.data() + s.p_offset(pair);
        const float* dO = gout.data() + s.o_at(pair);
        const float* W = Pp;
        if (dropping) {
          drop(mask, Pp, dropped.data(), n, std::uint64_t(s.p_offset(pair)));
          W = dropped.data();
        }
        if (g.data[2])  // dV = Pd^T dO
          gemm(GemmKernel::blas, true, false, s.Tk, s.dv, s.Tq, 1.0f, W, s.Tk, dO, s.ldv(), g.beta[2],
               g.data[2] + s.v_at(pair), s.ldv());
        if (!g.data[0] && !g.data[1]) continue;
        gemm(GemmKernel::blas, false, true, s.Tq, s.Tk, s.dv, 1.0f, dO, s.ldv(), pv + s.v_at(pair), s.ldv(), 0.0f,
             dP.data(), s.Tk);
        if (dropping) drop(mask, dP.data(), dP.data(), n, std::uint64_t(s.p_offset(pair)));
        pair_weights_backward(s, pair, Pp, dP.data(), pq, pk, g.data[0], g.beta[0], g.data[1], g.beta[1]);
      }
    }
  });
}

Variable attention_weights(const Variable& q, const Variable& k, std::int64_t heads, const Tensor& key_padding,
                           bool causal) {
  const AttentionShape s = check_shapes("attention_weights", q, k, nullptr, heads, key_padding, causal);
  Tensor P({s.B, heads, s.Tq, s.Tk});
  const float* pad = key_padding.defined() ? key_padding.data() : nullptr;
  const GemmKernel kernel = fp32_kernel(gemm_kernel());
#pragma omp parallel for schedule(static)
  for (std::int64_t pair = 0; pair < s.pairs(); ++pair)
    pair_weights(kernel, s, pair, q.value().data(), k.value().data(), pad, causal, P.data() + s.p_offset(pair));

  return Variable::from_op("attention_weights", P, {q, k}, [q, k, P, s](const Tensor& gP) {
    const GradSlots g({q, k});
#pragma omp parallel
    {
      std::vector<float> dP(std::size_t(s.Tq * s.Tk));
#pragma omp for schedule(static)
      for (std::int64_t pair = 0; pair < s.pairs(); ++pair) {
        std::copy_n(gP.data() + s.p_offset(pair), dP.size(), dP.data());
        pair_weights_backward(s, pair, P.data() + s.p_offset(pair), dP.data(), q.value().data(), k.value().data(),
                              g.data[0], g.beta[0], g.data[1], g.beta[1]);
      }
    }
  });
}

}  // namespace xseq
