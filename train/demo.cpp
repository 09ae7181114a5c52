#include "train/demo.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "framework/xseq.hpp"

namespace xseq {
namespace {

constexpr int kVocab = 16, kMaxLen = 8, kMinLen = 3, kDim = 32, kPad = 0;

struct Batch {
  IndexTensor tokens;   // (B, T), kPad after each sequence's end
  Tensor key_mask;      // (B, 1, T): 0 for real tokens, -inf for padding
  IndexTensor targets;  // (B,): largest token of each sequence
};

Batch make_batch(Rng& rng, int batch) {
  Batch b;
  std::vector<std::int32_t> tokens(std::size_t(batch) * kMaxLen, kPad), targets(batch);
  std::vector<float> mask(std::size_t(batch) * kMaxLen, -INFINITY);
  for (int i = 0; i < batch; ++i) {
    const int len = kMinLen + int(rng.below(kMaxLen - kMinLen + 1));
    int best = 0;
    for (int t = 0; t < len; ++t) {
      const int tok = 1 + int(rng.below(kVocab - 1));
      tokens[i * kMaxLen + t] = tok;
      mask[i * kMaxLen + t] = 0.0f;
      best = std::max(best, tok);
    }
    targets[i] = best;
  }
  b.tokens = IndexTensor({batch, kMaxLen}, tokens);
  b.key_mask = Tensor::from_vector({batch, 1, kMaxLen}, mask);
  b.targets = IndexTensor({batch}, targets);
  return b;
}

Variable param(Rng& rng, const Shape& shape, float scale) {
  Tensor t(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = scale * rng.normal();
  return Variable(t, true);
}

}  // namespace

double run_attention_demo(const DemoOptions& options) {
  Rng rng(options.seed);
  // Parameters: embeddings, a learned query, key projection, output layer.
  Variable embed = param(rng, {kVocab, kDim}, 0.5f);
  Variable query = param(rng, {kDim, 1}, 0.5f);
  Variable w_key = param(rng, {kDim, kDim}, 1.0f / std::sqrt(float(kDim)));
  Variable w_out = param(rng, {kDim, kVocab}, 1.0f / std::sqrt(float(kDim)));
  Variable b_out = Variable(Tensor::zeros({kVocab}), true);
  std::vector<Variable> params = {embed, query, w_key, w_out, b_out};

  Variable last_weights;  // attention weights of the latest forward pass, for the printout
  auto forward = [&](const Batch& b) {
    Variable x = embedding(embed, b.tokens, kPad);                           // (B, T, D)
    Variable keys = matmul(x, w_key);                                        // (B, T, D)
    Variable scores = matmul(keys, query) * (1.0f / std::sqrt(float(kDim))); // (B, T, 1)
    Variable weights = softmax(transpose(scores, 1, 2), b.key_mask);         // (B, 1, T)
    last_weights = weights;
    Variable context = reshape(matmul(weights, x), {-1, kDim});              // (B, D)
    return matmul(context, w_out) + b_out;                                   // (B, V)
  };

  // Adam, written out here; the real optimizers live with the trainer.
  const float lr = 0.01f, beta1 = 0.9f, beta2 = 0.999f, adam_eps = 1e-8f;
  std::vector<Tensor> m, v;
  for (auto& p : params) {
    m.push_back(Tensor::zeros(p.shape()));
    v.push_back(Tensor::zeros(p.shape()));
  }

  Rng data_rng(options.seed + 1);
  const Batch held_out = make_batch(data_rng, 1024);
  std::vector<int> predictions(held_out.targets.numel());
  auto accuracy = [&]() {
    NoGradGuard no_grad;
    const Tensor logits = forward(held_out).value();
    int correct = 0;
    for (int i = 0; i < 1024; ++i) {
      int best = 0;
      for (int c = 1; c < kVocab; ++c)
        if (logits.at({i, c}) > logits.at({i, best})) best = c;
      predictions[i] = best;
      correct += best == held_out.targets.data[i];
    }
    return correct / 1024.0;
  };

  std::printf("xseq engine demo: attention pooling learns to find the largest token\n");
  std::printf("  vocab %d, length %d-%d, dim %d, batch %d, %d steps, %d threads\n", kVocab, kMinLen,
              kMaxLen, kDim, options.batch, options.steps, num_threads());
  std::printf("  step 0: held-out accuracy %.1f%%\n", 100.0 * accuracy());
  const auto start = std::chrono::steady_clock::now();
  double smoothed = 0.0;
  for (int step = 1; step <= options.steps; ++step) {
    const Batch b = make_batch(data_rng, options.batch);
    Variable loss = cross_entropy(forward(b), b.targets);
    for (auto& p : params) p.zero_grad();
    loss.backward();
    const float c1 = 1.0f - std::pow(beta1, float(step)), c2 = 1.0f - std::pow(beta2, float(step));
    for (std::size_t k = 0; k < params.size(); ++k) {
      float* w = params[k].mutable_value().data();
      const float* g = params[k].grad().data();
      float* mk = m[k].data();
      float* vk = v[k].data();
      for (std::int64_t i = 0; i < params[k].numel(); ++i) {
        mk[i] = beta1 * mk[i] + (1 - beta1) * g[i];
        vk[i] = beta2 * vk[i] + (1 - beta2) * g[i] * g[i];
        w[i] -= lr * (mk[i] / c1) / (std::sqrt(vk[i] / c2) + adam_eps);
      }
    }
    smoothed = step == 1 ? loss.value().item() : 0.9 * smoothed + 0.1 * loss.value().item();
    if (step % 50 == 0 || step == 1)
      std::printf("  step %4d: loss %.4f\n", step, smoothed);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double acc = accuracy();
  std::printf("  trained in %.2f s; held-out accuracy %.1f%% (1024 sequences)\n", seconds, 100.0 * acc);
  std::printf("\n  examples (token:attention weight; padding gets exactly 0):\n");
  const Tensor& w = last_weights.value();  // (1024, 1, T)
  for (int i = 0; i < 4; ++i) {
    std::printf("   ");
    for (int t = 0; t < kMaxLen; ++t) {
      const int tok = held_out.tokens.data[i * kMaxLen + t];
      if (tok == kPad) std::printf("   <pad>:%.2f", w.at({i, 0, t}));
      else std::printf("  %6d:%.2f", tok, w.at({i, 0, t}));
    }
    std::printf("  -> predicted %d (largest %d)\n", predictions[i], held_out.targets.data[i]);
  }
  return acc;
}

}  // namespace xseq
