#include "tests/helpers.hpp"

using namespace xseq;
using namespace xseq::test;

TEST_CASE("backward computes d(sum(w*x + b))", "[autograd]") {
  Variable x(Tensor::from_vector({3}, {1, 2, 3}), true);
  Variable w(Tensor::from_vector({3}, {4, 5, 6}), true);
  Variable loss = sum(x * w + 1.0f);
  REQUIRE(loss.value().item() == Approx(4 + 10 + 18 + 3));
  loss.backward();
  require_close(x.grad(), {4, 5, 6});
  require_close(w.grad(), {1, 2, 3});
}

TEST_CASE("A variable used twice receives both gradients", "[autograd]") {
  Variable x(Tensor::from_vector({2}, {3, -2}), true);
  Variable y = sum(x * x + x);  // dy/dx = 2x + 1
  y.backward();
  require_close(x.grad(), {7, -3});
}

TEST_CASE("Gradients accumulate across two backward passes", "[autograd]") {
  Variable x(Tensor::from_vector({2}, {1, 2}), true);
  SECTION("two graphs") {
    sum(x * 3.0f).backward();
    sum(x * 3.0f).backward();
    require_close(x.grad(), {6, 6});
  }
  SECTION("one graph kept with retain_graph") {
    Variable y = sum(exp(x));
    y.backward(/*retain_graph=*/true);
    y.backward();
    require_close(x.grad(), {2 * std::exp(1.0f), 2 * std::exp(2.0f)}, 1e-4f);
  }
  SECTION("zero_grad starts over") {
    sum(x * 3.0f).backward();
    x.zero_grad();
    sum(x * 5.0f).backward();
    require_close(x.grad(), {5, 5});
  }
}

TEST_CASE("backward twice through a freed graph is a clear error", "[autograd]") {
  Variable x(Tensor::from_vector({2}, {1, 2}), true);
  Variable y = sum(x * x);
  y.backward();
  REQUIRE_THROWS_WITH(y.backward(), Catch::Contains("already freed"));
}

TEST_CASE("No-grad scope records nothing", "[autograd]") {
  Variable x(Tensor::from_vector({2}, {1, 2}), true);
  const auto nodes_before = live_graph_nodes();
  {
    NoGradGuard no_grad;
    Variable y = relu(x * 2.0f) + x;
    REQUIRE_FALSE(y.requires_grad());
    REQUIRE(y.is_leaf());
    REQUIRE(live_graph_nodes() == nodes_before);
    REQUIRE_FALSE(grad_enabled());
  }
  REQUIRE(grad_enabled());
  Variable z = x * 2.0f;
  REQUIRE(z.requires_grad());
}

TEST_CASE("Inputs that need no gradient get none", "[autograd]") {
  Variable x(Tensor::from_vector({2}, {1, 2}), false);
  Variable w(Tensor::from_vector({2}, {3, 4}), true);
  sum(x * w).backward();
  REQUIRE_FALSE(x.has_grad());
  require_close(w.grad(), {1, 2});
}

TEST_CASE("The graph is freed after backward and memory does not grow over steps", "[autograd][memory]") {
  Rng rng(3);
  Variable w(uniform({64, 64}, rng), true);
  Variable x(uniform({32, 64}, rng));
  auto step = [&] {
    Variable h = tanh(matmul(x, w));
    Variable loss = mean(softmax(matmul(h, w, false, true)));
    loss.backward();
    w.zero_grad();
  };
  step();  // first step fills the allocator's cache
  const auto nodes_before = live_graph_nodes();
  const auto mem_before = memory_stats();
  for (int i = 0; i < 200; ++i) step();
  const auto mem_after = memory_stats();
  REQUIRE(live_graph_nodes() == nodes_before);
  REQUIRE(mem_after.live_bytes == mem_before.live_bytes);
  REQUIRE(mem_after.system_allocs == mem_before.system_allocs);
  REQUIRE(mem_after.cached_bytes == mem_before.cached_bytes);
}

TEST_CASE("A very deep graph backpropagates without recursion", "[autograd]") {
  const auto nodes_before = live_graph_nodes();
  Variable x(Tensor::from_vector({1}, {0.5f}), true);
  const int depth = 100000;
  SECTION("backward") {
    Variable y = x;
    for (int i = 0; i < depth; ++i) y = y * 1.0f + 0.0f;
    REQUIRE(live_graph_nodes() == nodes_before + 2 * depth);
    sum(y).backward();
    require_close(x.grad(), {1.0f});
    REQUIRE(live_graph_nodes() == nodes_before);
  }
  SECTION("dropped without backward") {
    {
      Variable y = x;
      for (int i = 0; i < depth; ++i) y = y * 1.0f + 0.0f;
    }
    REQUIRE(live_graph_nodes() == nodes_before);
  }
}

TEST_CASE("backward checks its seed", "[autograd]") {
  Variable x(Tensor::from_vector({2}, {1, 2}), true);
  Variable y = x * 2.0f;
  REQUIRE_THROWS_WITH(y.backward(), Catch::Contains("must have one element"));
  REQUIRE_THROWS_WITH(y.backward(Tensor::ones({3})), Catch::Contains("seed gradient shape (3,)"));
}

TEST_CASE("Reusing a variable whose graph was freed asks for detach()", "[autograd]") {
  Variable w(Tensor::from_vector({2}, {1, 2}), true);
  Variable h = tanh(w);  // e.g. an RNN state carried across batches
  sum(h).backward();
  REQUIRE_THROWS_WITH(h * w, Catch::Contains("detach()"));
  Variable carried = h.detach();
  w.zero_grad();
  sum(carried * w).backward();
  require_close(w.grad(), {std::tanh(1.0f), std::tanh(2.0f)});
}

TEST_CASE("The leaf hook reports each leaf once, when its gradient is final", "[autograd]") {
  // loss = sum(w2 * tanh(w1 * x)) + sum(w1): w2's last user runs first, w1's last
  // user is the earliest node that reads it; x needs no gradient.
  const Variable x(Tensor::full({3}, 0.5f));
  const Variable w1(Tensor::full({3}, 2.0f), true), w2(Tensor::full({3}, -1.0f), true);
  std::vector<std::pair<const VariableImpl*, float>> reports;  // leaf, its gradient's first element then
  {
    const LeafGradientHookScope scope([&](const Variable& leaf) { reports.push_back({leaf.impl(), leaf.grad().data()[0]}); });
    Variable loss = sum(w2 * tanh(w1 * x)) + sum(w1);
    loss.backward();
  }
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].first == w2.impl());
  CHECK(reports[1].first == w1.impl());
  CHECK(reports[0].second == w2.grad().data()[0]);  // already final when reported
  CHECK(reports[1].second == w1.grad().data()[0]);
  CHECK(w1.grad().data()[0] == Approx(1.0f - 0.5f * (1.0f - std::tanh(1.0f) * std::tanh(1.0f))));
  // Outside the scope nothing is reported.
  Variable again = sum(w2 * w1);
  again.backward();
  CHECK(reports.size() == 2);
}
