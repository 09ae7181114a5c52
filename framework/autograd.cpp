#include "framework/autograd.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ostream>
#include <unordered_map>
#include <unordered_set>

#include "framework/parallel.hpp"
#include "framework/profiler.hpp"

namespace xseq {
namespace {

thread_local bool t_grad_enabled = true;
std::atomic<std::uint64_t> g_next_sequence{0};
std::atomic<std::int64_t> g_live_nodes{0};

void add_into(Tensor& dst, const Tensor& src) {
  float* d = dst.data();
  const float* s = src.data();
  const std::int64_t n = dst.numel();
#pragma omp parallel for simd if (n > kParallelGrain) schedule(static)
  for (std::int64_t i = 0; i < n; ++i) d[i] += s[i];
}

}  // namespace

Node::Node(const char* op_name, std::vector<Variable> in, BackwardFn fn)
    : op(op_name), inputs(std::move(in)), backward(std::move(fn)), sequence(g_next_sequence++) {
  ++g_live_nodes;
}

// Dropping the last reference to a long graph (say a 100-step unroll that was
// never backpropagated) would free node after node recursively and overflow the
// stack. Instead each node hands the nodes only it keeps alive to a work list.
Node::~Node() {
  --g_live_nodes;
  std::vector<std::shared_ptr<Node>> pending;
  auto harvest = [&pending](Node& n) {
    n.backward = nullptr;  // the closure's references to inputs go first
    for (Variable& in : n.inputs) {
      if (in.impl_ && in.impl_.use_count() == 1 && in.impl_->node && in.impl_->node.use_count() == 1)
        pending.push_back(std::move(in.impl_->node));
    }
    n.inputs.clear();
  };
  harvest(*this);
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    harvest(*n);
  }  // n is destroyed here with no inputs left: no recursion
}

std::int64_t live_graph_nodes() { return g_live_nodes.load(); }

bool grad_enabled() { return t_grad_enabled; }

std::ostream& operator<<(std::ostream& out, const Variable& v) {
  if (!v.defined()) return out << "Variable(undefined)";
  out << "Variable(" << v.value();
  if (v.requires_grad()) out << (v.is_leaf() ? ", requires_grad" : ", grad_fn");
  return out << ')';
}

NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }

Variable::Variable(Tensor value, bool requires_grad) : impl_(std::make_shared<VariableImpl>()) {
  XSEQ_CHECK(value.defined(), "Variable: cannot wrap an undefined tensor");
  impl_->value = std::move(value);
  impl_->requires_grad = requires_grad;
}

Variable Variable::from_op(const char* op, Tensor value, std::vector<Variable> inputs,
                           BackwardFn backward) {
  if (profiler::enabled()) profiler::record_forward(op);
  Variable out(std::move(value), false);
  if (!t_grad_enabled) return out;
  bool any = false;
  for (const auto& in : inputs) {
    XSEQ_CHECK(in.defined(), op, ": an input variable is undefined");
    if (in.requires_grad()) {
      XSEQ_CHECK(!in.impl_->graph_released, op,
                 ": an input's graph was already freed by backward(); detach() it to use it as a "
                 "constant, recompute it, or call backward(retain_graph=true)");
      any = true;
    }
  }
  if (!any) return out;
  out.impl_->requires_grad = true;
  out.impl_->node = std::make_shared<Node>(op, std::move(inputs), std::move(backward));
  return out;
}

void Variable::set_requires_grad(bool on) {
  XSEQ_CHECK(is_leaf(), "set_requires_grad: only leaf variables (inputs, parameters) can change it");
  impl_->requires_grad = on;
}

Tensor& Variable::grad_buffer() const {
  if (!impl_->grad.defined()) impl_->grad = Tensor::zeros(impl_->value.shape());
  return impl_->grad;
}

Tensor& Variable::grad_slot(bool* fresh) const {
  *fresh = !impl_->grad.defined();
  if (*fresh) impl_->grad = Tensor(impl_->value.shape());
  return impl_->grad;
}

void Variable::accumulate_grad(const Tensor& g) const {
  XSEQ_CHECK(g.shape() == shape(), "accumulate_grad: gradient shape ", g.shape(),
             " does not match the variable's shape ", shape());
  if (!impl_->grad.defined()) {
    impl_->grad = g.clone();
  } else {
    add_into(impl_->grad, g);
  }
}

void Variable::backward(bool retain_graph) {
  XSEQ_CHECK(defined() && numel() == 1, "backward: without a seed gradient the variable must have one "
             "element (a loss), got shape ", defined() ? shape() : Shape{});
  backward(Tensor::ones(shape()), retain_graph);
}

namespace {

thread_local LeafGradientHook leaf_hook;

// For the leaf hook: how many of the pass's nodes still have to add to each
// leaf that wants a gradient (a node listing a leaf twice counts twice).
std::unordered_map<const VariableImpl*, int> pending_leaf_uses(const std::vector<Variable>& order) {
  std::unordered_map<const VariableImpl*, int> pending;
  for (const Variable& v : order)
    for (const Variable& in : v.impl()->node->inputs)
      if (in.is_leaf() && in.requires_grad()) ++pending[in.impl()];
  return pending;
}

// After `node` ran: its leaves whose last user it was are final.
void report_final_leaves(const Node& node, std::unordered_map<const VariableImpl*, int>& pending) {
  for (const Variable& in : node.inputs)
    if (in.is_leaf() && in.requires_grad() && --pending[in.impl()] == 0) leaf_hook(in);
}

}  // namespace

LeafGradientHookScope::LeafGradientHookScope(LeafGradientHook hook) : previous_(std::move(leaf_hook)) {
  leaf_hook = std::move(hook);
}

LeafGradientHookScope::~LeafGradientHookScope() { leaf_hook = std::move(previous_); }

void Variable::backward(const Tensor& seed, bool retain_graph) {
  XSEQ_CHECK(defined(), "backward: variable is undefined");
  XSEQ_CHECK(seed.shape() == shape(), "backward: seed gradient shape ", seed.shape(),
             " does not match the variable's shape ", shape());
  XSEQ_CHECK(!impl_->graph_released, "backward: this graph was already freed by an earlier "
             "backward(); pass retain_graph=true to backpropagate through it twice");
  if (!requires_grad()) return;  // nothing upstream wants a gradient
  if (!impl_->node) {             // a leaf: backward just accumulates the seed
    accumulate_grad(seed);
    return;
  }
  // Interior gradients (this one included) live only for the pass: no node
  // created later than this one can feed it, so it starts as the seed.
  impl_->grad = seed;

  // Collect every variable with a node reachable from here (explicit stack).
  // `order` holds references, so no variable is freed while backward still
  // needs it, even when releasing a node drops the last other reference.
  std::vector<Variable> order;
  std::unordered_set<const VariableImpl*> seen{impl_.get()};
  std::vector<Variable> stack{*this};
  while (!stack.empty()) {
    Variable v = std::move(stack.back());
    stack.pop_back();
    for (const Variable& in : v.impl_->node->inputs)
      if (in.impl_->node && seen.insert(in.impl()).second) stack.push_back(in);
    order.push_back(std::move(v));
  }
  std::sort(order.begin(), order.end(), [](const Variable& a, const Variable& b) {
    return a.impl_->node->sequence > b.impl_->node->sequence;
  });
  std::unordered_map<const VariableImpl*, int> pending;
  if (leaf_hook) pending = pending_leaf_uses(order);

  for (Variable& v : order) {
    VariableImpl* impl = v.impl();
    if (impl->grad.defined()) {
      if (profiler::enabled()) {
        const auto start = std::chrono::steady_clock::now();
        impl->node->backward(impl->grad);
        profiler::record_backward(impl->node->op,
                                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      } else {
        impl->node->backward(impl->grad);
      }
    }
    impl->grad = Tensor();  // interior gradients are not kept (as in PyTorch)
    if (leaf_hook) report_final_leaves(*impl->node, pending);
    if (!retain_graph) {
      // The tensors saved for backward are no longer needed.
      impl->graph_released = true;
      impl->node.reset();
      v = Variable();
    }
  }
}

}  // namespace xseq
