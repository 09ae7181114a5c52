// Fits y = 3x - 1 by gradient descent through the installed library, then
// checks the gradient of its own tiny "layer" with the public checker.
#include <cmath>
#include <cstdio>

#include <framework/xseq.hpp>

int main() {
  using namespace xseq;
  Variable w(Tensor::scalar(0.0f), true), b(Tensor::scalar(0.0f), true);
  Variable x(Tensor::from_vector({4}, {0, 1, 2, 3}));
  Variable y(Tensor::from_vector({4}, {-1, 2, 5, 8}));
  for (int step = 0; step < 500; ++step) {
    Variable diff = x * w + b - y;
    Variable loss = mean(diff * diff);
    w.zero_grad();
    b.zero_grad();
    loss.backward();
    w.mutable_value().data()[0] -= 0.05f * w.grad().item();
    b.mutable_value().data()[0] -= 0.05f * b.grad().item();
  }
  const GradCheckResult check = check_gradients([&] { return tanh(x * w + b); }, {w, b});
  std::printf("consumer: w = %.3f, b = %.3f; %s\n", w.value().item(), b.value().item(), check.report().c_str());
  const bool fitted = std::fabs(w.value().item() - 3.0f) < 1e-2f && std::fabs(b.value().item() + 1.0f) < 1e-2f;
  return fitted && check.ok ? 0 : 1;
}
