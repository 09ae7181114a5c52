// Define-by-run reverse-mode autodiff.
//
// A Variable holds a Tensor value and, once backward has reached it, a gradient
// of the same shape. An op computes its output Tensor and calls
// Variable::from_op(name, value, inputs, backward): if gradients are enabled
// and some input requires one, this records a Node holding the inputs and the
// backward closure. backward() collects the nodes reachable from the loss with
// an explicit stack (no recursion, however long the graph), runs them in
// reverse creation order (creation order is a topological order) and frees
// each node once it has run, so nothing outlives the step.
//
// Backward closures always *accumulate* into their inputs' gradients.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "framework/tensor.hpp"

namespace xseq {

class Variable;

/// Receives d(loss)/d(output) and adds d(loss)/d(input) into the inputs'
/// gradients (through Variable::grad_buffer or Variable::accumulate_grad).
using BackwardFn = std::function<void(const Tensor& grad_output)>;

struct Node;

struct QuantizedMatrix;  // framework/quantize.hpp

struct VariableImpl {
  Tensor value;
  /// An int8 copy of a weight for inference (a quantised checkpoint): linear
  /// layers use it under Precision::int8 (framework/quantize.hpp).
  std::shared_ptr<const QuantizedMatrix> int8;
  Tensor grad;                  ///< undefined until a gradient arrives
  std::shared_ptr<Node> node;   ///< the op that produced this variable (null for leaves)
  bool requires_grad = false;
  bool graph_released = false;  ///< backward already freed the graph below
};

class Variable {
 public:
  /// An undefined variable.
  Variable() = default;
  /// A leaf: an input (requires_grad = false) or a parameter (true).
  explicit Variable(Tensor value, bool requires_grad = false);

  /// Wraps an op's result. Records a node with `backward` when gradients are
  /// enabled and any input requires a gradient; otherwise `backward` is dropped.
  /// `op` (a string literal) names the op in error messages.
  static Variable from_op(const char* op, Tensor value, std::vector<Variable> inputs,
                          BackwardFn backward);

  bool defined() const { return static_cast<bool>(impl_); }
  const Tensor& value() const { return checked().value; }
  /// Mutable access for optimizers and checkpoint loading (not recorded).
  /// Variable is a shared handle: constness of the handle does not extend to
  /// the value and gradient it points to (as with std::shared_ptr).
  Tensor& mutable_value() const { return checked().value; }
  const Shape& shape() const { return checked().value.shape(); }
  int ndim() const { return shape().ndim(); }
  std::int64_t dim(int axis) const { return shape().dim(axis); }
  std::int64_t numel() const { return shape().numel(); }

  bool requires_grad() const { return impl_ && impl_->requires_grad; }
  /// The weight's int8 copy, or null (framework/quantize.hpp).
  const QuantizedMatrix* int8_weights() const { return impl_ ? impl_->int8.get() : nullptr; }
  void set_int8_weights(std::shared_ptr<const QuantizedMatrix> q) const { checked().int8 = std::move(q); }
  void set_requires_grad(bool on);
  bool is_leaf() const { return !checked().node; }
  /// The accumulated gradient (undefined if none has arrived).
  const Tensor& grad() const { return checked().grad; }
  bool has_grad() const { return checked().grad.defined(); }
  /// The gradient buffer, created zero-filled on first use; kernels add into it.
  Tensor& grad_buffer() const;
  /// The gradient buffer for a kernel that can overwrite as well as add. When no
  /// gradient has arrived yet it is allocated uninitialised and *fresh is set:
  /// the kernel must write every element (a GEMM with beta 0). Otherwise it is
  /// the existing buffer and the kernel adds. Saves the zero fill of grad_buffer().
  Tensor& grad_slot(bool* fresh) const;
  /// grad += g (g must have this variable's shape).
  void accumulate_grad(const Tensor& g) const;
  /// Drops the gradient (the next backward starts from zero).
  void zero_grad() const { checked().grad = Tensor(); }

  /// Backpropagates from a one-element variable (seed gradient 1).
  void backward(bool retain_graph = false);
  /// Backpropagates with an explicit seed d(loss)/d(this), shaped like value().
  void backward(const Tensor& seed, bool retain_graph = false);

  /// Same value, no history, no gradient.
  Variable detach() const { return Variable(checked().value, false); }
  VariableImpl* impl() const { return impl_.get(); }

 private:
  friend struct Node;
  VariableImpl& checked() const {
    XSEQ_CHECK(impl_, "Variable: use of an undefined variable (default-constructed or moved from)");
    return *impl_;
  }
  std::shared_ptr<VariableImpl> impl_;
};

struct Node {
  const char* op;
  std::vector<Variable> inputs;
  BackwardFn backward;
  std::uint64_t sequence;  ///< creation order; later nodes run first in backward

  Node(const char* op_name, std::vector<Variable> in, BackwardFn fn);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
};

/// Prints the value and whether the variable requires a gradient.
std::ostream& operator<<(std::ostream& out, const Variable& v);

/// True unless a NoGradGuard is active on this thread.
bool grad_enabled();

/// Records nothing while alive (evaluation, decoding, finite differences).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// Called by backward() on this thread as soon as a leaf's gradient is final for
/// the pass (every node that adds to it has run), the last-used leaves first.
/// Data-parallel training starts summing a bucket of gradients over the processes
/// then, while backward still works on earlier layers (train/distributed_training.cpp).
using LeafGradientHook = std::function<void(const Variable& leaf)>;

/// Installs a LeafGradientHook on this thread for its lifetime (the previous one
/// comes back afterwards). Without one, backward() does no extra work.
class LeafGradientHookScope {
 public:
  explicit LeafGradientHookScope(LeafGradientHook hook);
  ~LeafGradientHookScope();
  LeafGradientHookScope(const LeafGradientHookScope&) = delete;
  LeafGradientHookScope& operator=(const LeafGradientHookScope&) = delete;

 private:
  LeafGradientHook previous_;
};

/// Nodes currently alive in this process; 0 after backward has freed a step's graph.
std::int64_t live_graph_nodes();

}  // namespace xseq
