#include "decode/quantization.hpp"

#include <filesystem>

#include "decode/trained_model.hpp"
#include "framework/checkpoint.hpp"
#include "framework/error.hpp"
#include "framework/quantize.hpp"

namespace xseq {
namespace {

// The report's error fields for one weight and its quantised copy.
void measure(const NamedParameter& w, const QuantizedMatrix& q, QuantizeReport& r) {
  const Tensor& value = w.variable.value();
  const Tensor back = q.dequantize();
  for (std::int64_t i = 0; i < value.numel(); ++i) {
    const double err = std::abs(double(value.data()[i]) - double(back.data()[i]));
    if (err > r.largest_error || r.largest_error_parameter.empty()) {
      r.largest_error = err;
      r.largest_error_step = q.scales[std::size_t(i / q.cols)];
      r.largest_error_parameter = w.name;
    }
  }
}

}  // namespace

QuantizeReport quantize_checkpoint(const std::string& in, const std::string& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  XSEQ_CHECK(!(fs::exists(out) && fs::equivalent(in, out, ec)), "xseq quantize: the output '", out,
             "' is the input checkpoint; write the quantised copy elsewhere (the fp32 weights would be lost)");
  check_not_quantized(*open_checkpoint(in), "xseq quantize");
  TrainedModel t = load_trained_model(in);
  const auto file = open_checkpoint(in);
  QuantizeReport r;
  const std::vector<NamedParameter> weights = t.model->int8_parameters();
  for (const NamedParameter& w : weights) {
    auto q = std::make_shared<const QuantizedMatrix>(quantize_rows(w.variable.value()));
    measure(w, *q, r);
    w.variable.set_int8_weights(std::move(q));  // what the file stores
    ++r.quantized;
    r.quantized_values += w.variable.value().numel();
  }
  for (const NamedParameter& p : t.model->named_parameters()) {
    ++r.kept;
    r.kept_values += p.variable.value().numel();
  }
  r.kept -= r.quantized;
  r.kept_values -= r.quantized_values;
  CheckpointExtras extras;
  t.pipeline.save(extras);
  for (const char* key : {"config", "plugins", "step"}) extras.attributes[key] = file->attribute(key);
  extras.attributes["quantized_from"] = in;
  save_quantized_checkpoint(out, *t.model, weights, extras);
  r.bytes_before = fs::file_size(in);
  r.bytes_after = fs::file_size(out);
  return r;
}

}  // namespace xseq
