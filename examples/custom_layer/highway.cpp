#include "highway.hpp"

namespace example {

using xseq::Tensor;
using xseq::Variable;

Variable highway_mix(const Variable& gate, const Variable& h, const Variable& x) {
  XSEQ_CHECK(gate.shape() == h.shape() && h.shape() == x.shape(), "highway_mix: gate ", gate.shape(), ", h ",
             h.shape(), " and x ", x.shape(), " must have one shape");
  const std::int64_t n = x.numel();
  const float *t = gate.value().data(), *hv = h.value().data(), *xv = x.value().data();
  Tensor out(x.shape());
  float* y = out.data();
  for (std::int64_t i = 0; i < n; ++i) y[i] = t[i] * hv[i] + (1.0f - t[i]) * xv[i];

  // Backward: d/dt = g (h - x), d/dh = g t, d/dx = g (1 - t); each input only
  // if it needs a gradient, always accumulating (+=) into its buffer.
  return Variable::from_op("highway_mix", std::move(out), {gate, h, x}, [gate, h, x](const Tensor& g) {
    const std::int64_t n = g.numel();
    const float *gv = g.data(), *t = gate.value().data(), *hv = h.value().data(), *xv = x.value().data();
    if (gate.requires_grad()) {
      float* d = gate.grad_buffer().data();
      for (std::int64_t i = 0; i < n; ++i) d[i] += gv[i] * (hv[i] - xv[i]);
    }
    if (h.requires_grad()) {
      float* d = h.grad_buffer().data();
      for (std::int64_t i = 0; i < n; ++i) d[i] += gv[i] * t[i];
    }
    if (x.requires_grad()) {
      float* d = x.grad_buffer().data();
      for (std::int64_t i = 0; i < n; ++i) d[i] += gv[i] * (1.0f - t[i]);
    }
  });
}

Highway::Highway(std::int64_t dim, float gate_bias, xseq::Rng& rng)
    : transform_(register_module("transform", std::make_shared<xseq::Dense>(
                                                  dim, dim, rng, xseq::Dense::Options{true, xseq::Activation::relu}))),
      gate_(register_module("gate", std::make_shared<xseq::Dense>(
                                        dim, dim, rng, xseq::Dense::Options{true, xseq::Activation::sigmoid}))) {
  // A negative gate bias starts the layer close to the identity (carry).
  set_parameter("gate.bias", Tensor::full({dim}, gate_bias));
}

Variable Highway::forward(const Variable& x, const xseq::Lengths&) {
  return highway_mix(gate_->forward(x), transform_->forward(x), x);
}

}  // namespace example

// The name a config file uses: [[model.encoder_extra]] type = "highway".
XSEQ_REGISTER_LAYER(highway, [](const xseq::LayerArgs& args, xseq::Rng& rng) {
  return std::make_shared<example::Highway>(args.dim, static_cast<float>(args.get("gate_bias", -1.0)), rng);
});
