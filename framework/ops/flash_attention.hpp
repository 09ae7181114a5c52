// Internal: what ops/attention.cpp (the materialised packed_attention) and
// ops/flash_attention.cpp (the tiled one) share, and the switch between them.
// Not part of the public API, except the kernel choice used by `xseq bench`
// and the tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/autograd.hpp"
#include "framework/blas.hpp"
#include "framework/ops/kernels.hpp"

namespace xseq {

/// Which kernel packed_attention runs. `automatic` (the default) picks by shape
/// (use_tiled_attention); the other two force one path (benchmarks, tests).
enum class AttentionKernel { automatic, materialized, tiled };
void set_attention_kernel(AttentionKernel kernel);
AttentionKernel attention_kernel();
/// "auto" | "materialized" | "tiled"; throws xseq::Error on anything else.
AttentionKernel parse_attention_kernel(const std::string& name);

namespace detail {

/// Shapes of one packed_attention call; a (batch, head) pair is one attention.
struct AttentionShape {
  std::int64_t B, Tq, Tk, heads, dk, dv;
  std::int64_t pairs() const { return B * heads; }
  std::int64_t p_offset(std::int64_t pair) const { return pair * Tq * Tk; }
  std::int64_t ldq() const { return heads * dk; }  // row stride of q and k
  std::int64_t ldv() const { return heads * dv; }  // row stride of v and the output
  // Where (batch, head) of pair starts in q, in k, in v and the output.
  std::int64_t q_at(std::int64_t pair) const { return (pair / heads) * Tq * ldq() + (pair % heads) * dk; }
  std::int64_t k_at(std::int64_t pair) const { return (pair / heads) * Tk * ldq() + (pair % heads) * dk; }
  std::int64_t v_at(std::int64_t pair) const { return (pair / heads) * Tk * ldv() + (pair % heads) * dv; }
  std::int64_t o_at(std::int64_t pair) const { return (pair / heads) * Tq * ldv() + (pair % heads) * dv; }
  // Keys query row i may see: all, or j <= i + Tk - Tq when causal.
  std::int64_t visible(std::int64_t i, bool causal) const { return causal ? std::min(Tk, Tk - Tq + i + 1) : Tk; }
};

/// Gradient buffers of an op's inputs: fresh ones are written (beta 0); when two
/// inputs are one variable its buffer is zeroed and every product adds.
struct GradSlots {
  std::vector<float*> data;
  std::vector<float> beta;
  explicit GradSlots(const std::vector<Variable>& inputs);
};

/// True when the tiled kernel should run for this shape under the current
/// AttentionKernel (automatic: measured threshold, ops/flash_attention.cpp; and
/// always for inference's batch-invariant products, whatever the shape).
bool use_tiled_attention(const AttentionShape& s, GemmKernel kernel);

/// The tiled (FlashAttention-style) packed_attention: same contract and same
/// dropout draw as the materialised one, but keeps only the output and the
/// per-row logsumexp (B, h, Tq) for backward, which recomputes the tiles.
/// `mask` is the draw of the call (p = 0 when not dropping).
/// With `weights`, also the attention weights (B, h, Tq, Tk), recomputed from the
/// logsumexp (no gradient flows through them).
Variable tiled_attention(const Variable& q, const Variable& k, const Variable& v, const AttentionShape& s,
                         const Tensor& key_padding, bool causal, bool dropping, const DropoutMask& mask,
                         GemmKernel kernel, Tensor* weights = nullptr);

/// Tile sizes of the tiled kernel: query rows and keys per tile (0 = default).
/// For benchmarks that pick the defaults; not thread-safe against running ops.
struct AttentionTiles {
  std::int64_t rows = 0, keys = 0;
};
void set_attention_tiles(AttentionTiles tiles);
AttentionTiles attention_tiles();

}  // namespace detail
}  // namespace xseq
