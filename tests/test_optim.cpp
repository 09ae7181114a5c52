// Optimizers, schedules and clipping against hand-computed numbers.
#include <cmath>

#include "helpers.hpp"

using namespace xseq;

namespace {
std::vector<NamedParameter> one_param(Variable& w) { return {{"w", w}}; }
}  // namespace

TEST_CASE("SGD with momentum and Adam/AdamW updates match their formulas", "[optim]") {
  Variable w(Tensor::from_vector({2}, {1.0f, -2.0f}), true);
  SGD sgd(one_param(w), 0.9f, 0.0f);
  w.accumulate_grad(Tensor::from_vector({2}, {0.5f, 1.0f}));
  sgd.step(0.1f);  // v = g
  test::require_close(w.value(), {1.0f - 0.05f, -2.0f - 0.1f});
  sgd.step(0.1f);  // v = 0.9 g + g = 1.9 g
  test::require_close(w.value(), {0.95f - 0.095f, -2.1f - 0.19f});

  for (const bool decoupled : {false, true}) {
    Variable p(Tensor::from_vector({1}, {2.0f}), true);
    Adam adam(one_param(p), Adam::Options{0.9f, 0.999f, 1e-8f, 0.1f, decoupled});
    p.accumulate_grad(Tensor::from_vector({1}, {0.4f}));
    adam.step(0.01f);
    // Step 1: m_hat = g', v_hat = g'^2, so the step is lr * sign(g') (up to eps).
    const double g = decoupled ? 0.4 : 0.4 + 0.1 * 2.0;
    const double expected = (decoupled ? 2.0 - 0.01 * 0.1 * 2.0 : 2.0) - 0.01 * g / (std::sqrt(g * g) + 1e-8);
    CHECK(p.value().item() == Approx(expected).epsilon(1e-6));
    CHECK(adam.name() == (decoupled ? "adamw" : "adam"));
  }
  CHECK_THROWS_WITH(make_optimizer("lion", one_param(w), 0, 0, 0.9f, 0.99f, 1e-8f), "unknown optimizer 'lion' (expected sgd, adam or adamw)");
}

TEST_CASE("schedules: constant with warmup, noam, cosine", "[optim]") {
  const Schedule constant{"constant", 1.0f, 10, 0};
  CHECK(constant.at(5) == Approx(0.5));
  CHECK(constant.at(50) == 1.0f);
  const Schedule noam{"noam", 1.0f, 100, 0};
  CHECK(noam.at(50) == Approx(0.5));
  CHECK(noam.at(100) == Approx(1.0));
  CHECK(noam.at(400) == Approx(0.5));  // sqrt(100 / 400)
  const Schedule cosine{"cosine", 2.0f, 10, 110};
  CHECK(cosine.at(5) == Approx(1.0));
  CHECK(cosine.at(60) == Approx(1.0));  // halfway through the decay
  CHECK(cosine.at(110) == Approx(0.0).margin(1e-6));
  const Schedule unknown{"step", 1.0f, 0, 0};
  CHECK_THROWS_WITH(unknown.at(1), Catch::Contains("unknown schedule 'step'"));
}

TEST_CASE("clip_grad_norm scales all gradients to the global norm", "[optim]") {
  Variable a(Tensor::zeros({2}), true), b(Tensor::zeros({1}), true), c(Tensor::zeros({1}), true);
  a.accumulate_grad(Tensor::from_vector({2}, {3.0f, 0.0f}));
  b.accumulate_grad(Tensor::from_vector({1}, {4.0f}));
  CHECK(clip_grad_norm({a, b, c}, 10.0) == Approx(5.0));  // no-op below the limit
  CHECK(a.grad().data()[0] == 3.0f);
  CHECK(clip_grad_norm({a, b, c}, 1.0) == Approx(5.0));
  CHECK(a.grad().data()[0] == Approx(0.6f).epsilon(1e-5));
  CHECK(b.grad().data()[0] == Approx(0.8f).epsilon(1e-5));
}
