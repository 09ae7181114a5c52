// The differentiable ops. Each is one small unit in framework/ops/*.cpp: its
// forward kernel, its backward kernel and its shape checks side by side.
// Every op records a node only when gradients are enabled and an input needs one.
#pragma once

#include <cstdint>
#include <vector>

#include "framework/autograd.hpp"
#include "framework/random.hpp"

namespace xseq {

// ---- elementwise binary, numpy-style broadcasting (ops/binary.cpp) ----------
Variable add(const Variable& a, const Variable& b);
Variable sub(const Variable& a, const Variable& b);
Variable mul(const Variable& a, const Variable& b);
Variable div(const Variable& a, const Variable& b);

// ---- scalar and unary (ops/unary.cpp) ----------------------------------------
Variable add_scalar(const Variable& x, float s);  ///< x + s
Variable mul_scalar(const Variable& x, float s);  ///< x * s
Variable rsub_scalar(const Variable& x, float s);  ///< s - x
Variable rdiv_scalar(const Variable& x, float s);  ///< s / x
Variable neg(const Variable& x);
Variable relu(const Variable& x);
Variable gelu(const Variable& x);  ///< exact: x * Phi(x), as torch.nn.GELU()
Variable tanh(const Variable& x);
Variable sigmoid(const Variable& x);
Variable exp(const Variable& x);
Variable log(const Variable& x);

inline Variable operator+(const Variable& a, const Variable& b) { return add(a, b); }
inline Variable operator-(const Variable& a, const Variable& b) { return sub(a, b); }
inline Variable operator*(const Variable& a, const Variable& b) { return mul(a, b); }
inline Variable operator/(const Variable& a, const Variable& b) { return div(a, b); }
inline Variable operator-(const Variable& x) { return neg(x); }
inline Variable operator+(const Variable& x, float s) { return add_scalar(x, s); }
inline Variable operator+(float s, const Variable& x) { return add_scalar(x, s); }
inline Variable operator-(const Variable& x, float s) { return add_scalar(x, -s); }
inline Variable operator-(float s, const Variable& x) { return rsub_scalar(x, s); }
inline Variable operator*(const Variable& x, float s) { return mul_scalar(x, s); }
inline Variable operator*(float s, const Variable& x) { return mul_scalar(x, s); }
inline Variable operator/(const Variable& x, float s) { return mul_scalar(x, 1.0f / s); }
inline Variable operator/(float s, const Variable& x) { return rdiv_scalar(x, s); }

// ---- matrix products (ops/matmul.cpp) ----------------------------------------
/// op(a) @ op(b) with op = transpose of the last two axes when the flag is set.
/// Shapes: (M,K)@(K,N); (...,M,K)@(K,N) (a's leading axes are folded into M);
/// (...,M,K)@(...,K,N) with equal leading (batch) axes, e.g. (B,H,T,d) for attention.
Variable matmul(const Variable& a, const Variable& b, bool transpose_a = false,
                bool transpose_b = false);

/// Multi-head scaled dot-product attention as one op (ops/attention.cpp) on packed
/// heads: q (B, Tq, h*dk), k (B, Tk, h*dk), v (B, Tk, h*dv) -> (B, Tq, h*dv), head i
/// in columns [i*d, (i+1)*d). key_padding: additive (B, Tk) or undefined; causal:
/// query i sees keys j <= i + Tk - Tq. Dropout p on the weights when training.
/// A query whose keys are all removed gets zeros. `weights`, if given, receives
/// the softmax weights (B, h, Tq, Tk) before dropout (not differentiable).
Variable packed_attention(const Variable& q, const Variable& k, const Variable& v, std::int64_t heads,
                          const Tensor& key_padding, bool causal, float dropout_p, bool training, Rng* rng,
                          Tensor* weights = nullptr);

/// The softmax weights of packed_attention alone, (B, h, Tq, Tk), differentiable
/// with respect to q and k (for losses on attention, and for MultiHeadAttention's
/// weights when gradients are recorded).
Variable attention_weights(const Variable& q, const Variable& k, std::int64_t heads, const Tensor& key_padding,
                           bool causal);

/// x W^T + b over x's last axis, W (out, in) as nn.Linear; `b` (out,) may be
/// undefined; `relu` applies max(0, .) in the same op. One GEMM started from the
/// bias rows (ops/linear.cpp).
Variable linear(const Variable& x, const Variable& w, const Variable& b = Variable(), bool relu = false);

// ---- shape (ops/shape_ops.cpp) ------------------------------------------------
/// Same data, new shape (one entry may be -1).
Variable reshape(const Variable& x, const std::vector<std::int64_t>& dims);
/// Output axis i is input axis dims[i].
Variable permute(const Variable& x, const std::vector<int>& dims);
Variable transpose(const Variable& x, int axis0, int axis1);
Variable concat(const std::vector<Variable>& xs, int axis);
/// Joins equally shaped variables along a new axis (e.g. T states (B, H) -> (B, T, H)).
Variable stack(const std::vector<Variable>& xs, int axis);
/// Consecutive pieces of `sizes` along `axis` (sizes must add up to its length).
std::vector<Variable> split(const Variable& x, const std::vector<std::int64_t>& sizes, int axis);
/// x[..., start:start+length, ...] along `axis`.
Variable narrow(const Variable& x, int axis, std::int64_t start, std::int64_t length);

// ---- reductions (ops/reduce.cpp) ----------------------------------------------
/// Sum over `axes` (empty = all axes).
Variable sum(const Variable& x, const std::vector<int>& axes = {}, bool keepdim = false);
Variable mean(const Variable& x, const std::vector<int>& axes = {}, bool keepdim = false);
/// Maximum over one axis; the gradient goes to the first maximal element.
Variable max(const Variable& x, int axis, bool keepdim = false);

// ---- normalisation over the last axis (ops/softmax.cpp, ops/layer_norm.cpp) ---
/// softmax(x + mask) over the last axis. `mask` (optional, broadcastable to x,
/// constant) is additive: 0 keeps a position, -inf removes it. A row whose
/// positions are all removed gives zeros (and zero gradient), not NaN.
Variable softmax(const Variable& x, const Tensor& mask = Tensor());
/// log_softmax(x + mask) over the last axis; removed positions give -inf and
/// a fully removed row gives all -inf, both with zero gradient.
Variable log_softmax(const Variable& x, const Tensor& mask = Tensor());
/// Layer normalisation over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta,
/// gamma and beta of shape (D,) where D = x.dim(-1).
Variable layer_norm(const Variable& x, const Variable& gamma, const Variable& beta,
                    float eps = 1e-5f);

// ---- regularisation, lookup, loss (ops/dropout.cpp, embedding.cpp, cross_entropy.cpp)
/// Zeroes each element with probability p and scales the rest by 1/(1-p);
/// the identity when !training or p == 0. Masks come from `rng`.
Variable dropout(const Variable& x, float p, bool training, Rng& rng);
/// Rows of `weight` (V, D) for every id: output shape ids.shape + (D,). Rows of
/// `padding_idx` (if >= 0) get no gradient.
Variable embedding(const Variable& weight, const IndexTensor& ids, int padding_idx = -1);
/// Mean over targets != ignore_index of -log softmax(logits)[target], with
/// label smoothing eps: the target distribution is (1-eps)*onehot + eps/V.
/// logits (..., V), targets shaped like logits without the last axis. When every
/// target is ignored the loss is 0 with zero gradient.
Variable cross_entropy(const Variable& logits, const IndexTensor& targets, int ignore_index = -100,
                       float label_smoothing = 0.0f);

// ---- recurrent layers as single ops (ops/gru.cpp, ops/lstm.cpp) -------------------------------
struct GRUSequence {
  Variable output;  ///< (B, T, H); zero at steps past a sequence's length
  Variable h_last;  ///< (B, H): each sequence's state after its last step
};
/// A GRU over a whole sequence, forward and backward through time in one op.
/// projected (B, T, 3H) = x W_ih^T + b_ih for every step (gate order r, z, n as in
/// PyTorch), h0 (B, H), w_hh (3H, H), b_hh (3H). Row b runs steps t < lengths[b]
/// (from T-1 down to 0 when `reverse`); later steps keep its state and output 0.
GRUSequence gru_sequence(const Variable& projected, const Variable& h0, const Variable& w_hh,
                         const Variable& b_hh, const std::vector<std::int64_t>& lengths, bool reverse);

struct LSTMSequence {
  Variable output;          ///< (B, T, H); zero at steps past a sequence's length
  Variable h_last, c_last;  ///< (B, H) each: the states after each sequence's last step
};
/// An LSTM over a whole sequence in one op (ops/lstm.cpp), as gru_sequence:
/// projected (B, T, 4H) with gates i, f, g, o (PyTorch), h0 and c0 (B, H),
/// w_hh (4H, H), b_hh (4H).
LSTMSequence lstm_sequence(const Variable& projected, const Variable& h0, const Variable& c0,
                           const Variable& w_hh, const Variable& b_hh, const std::vector<std::int64_t>& lengths,
                           bool reverse);

// ---- selection (ops/where.cpp) ------------------------------------------------
/// value where mask != 0, else x. `mask` is broadcastable to x.
Variable masked_fill(const Variable& x, const Tensor& mask, float value);
/// a where cond != 0, else b; cond, a and b broadcast together.
Variable where(const Tensor& cond, const Variable& a, const Variable& b);

}  // namespace xseq
