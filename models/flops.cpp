#include "models/flops.hpp"

namespace xseq {

double forward_flops(const ModelConfig& m, std::int64_t V, std::int64_t B, std::int64_t S, std::int64_t T) {
  const double b = double(B), s = double(S), t = double(T), v = double(V);
  if (m.type == "transformer") {
    const double D = double(m.d_model), F = double(m.ff_dim);
    const double enc = 4 * 2 * b * s * D * D + 2 * 2 * b * s * s * D + 2 * 2 * b * s * D * F;
    const double dec = 4 * 2 * b * t * D * D + 2 * 2 * b * t * t * D             // self-attention
                       + 2 * 2 * b * t * D * D + 2 * 2 * b * s * D * D + 2 * 2 * b * t * s * D  // cross
                       + 2 * 2 * b * t * D * F;
    return double(m.encoder_layers) * enc + double(m.decoder_layers) * dec + 2 * b * t * D * v;
  }
  // rnn_attention: input and recurrent projections of every layer and direction,
  // attention scores and context, the combine layer, the output projection.
  const double H = double(m.hidden), E = double(m.embed_dim), dirs = m.bidirectional ? 2 : 1;
  const double G = m.cell == "lstm" ? 4 : 3;
  double f = 0;
  for (std::int64_t l = 0; l < m.encoder_layers; ++l) {
    const double in = l == 0 ? E : dirs * H;
    f += dirs * (2 * b * s * in * G * H + 2 * b * s * H * G * H);
  }
  if (m.bidirectional) f += 2 * b * s * dirs * H * H;  // encoder_proj
  for (std::int64_t l = 0; l < m.decoder_layers; ++l) {
    const double in = l == 0 ? E + (m.input_feeding ? H : 0) : H;
    f += 2 * b * t * in * G * H + 2 * b * t * H * G * H;
  }
  f += 2 * 2 * b * t * s * H;                               // scores and context
  if (m.attention == "general") f += 2 * b * s * H * H;     // key projection
  if (m.attention != "seed") f += 2 * b * t * 2 * H * H;    // combine
  return f + 2 * b * t * H * v;
}

}  // namespace xseq
