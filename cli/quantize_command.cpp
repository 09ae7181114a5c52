// xseq quantize: an int8 checkpoint for decoding (decode/quantization.cpp).
#include <cstdio>

#include "cli/command.hpp"
#include "decode/quantization.hpp"

namespace xseq::cli {
namespace {

int run_quantize(const std::string& in, const std::string& out) {
  const QuantizeReport r = quantize_checkpoint(in, out);
  std::printf("quantised %lld weights (%lld values) to int8, one fp32 scale per output row; %lld parameters "
              "(%lld values) stay fp32\n",
              static_cast<long long>(r.quantized), static_cast<long long>(r.quantized_values),
              static_cast<long long>(r.kept), static_cast<long long>(r.kept_values));
  std::printf("size: %.3f MB -> %.3f MB (%.2fx)\n", double(r.bytes_before) / 1e6, double(r.bytes_after) / 1e6,
              double(r.bytes_after) / double(r.bytes_before));
  std::printf("largest weight error: %.6g in %s (its row's step is %.6g; the bound is half a step)\n",
              r.largest_error, r.largest_error_parameter.c_str(), r.largest_error_step);
  std::printf("wrote %s: it decodes in int8 (--precision fp32 decodes its dequantised weights)\n", out.c_str());
  return 0;
}

Command add_quantize(CLI::App& root) {
  auto* cmd = root.add_subcommand("quantize", "an int8 copy of a checkpoint for decoding");
  cmd->footer(
      "Stores every Dense weight (and a tied target embedding that is the output projection) as int8\n"
      "with one fp32 scale per output row (symmetric, round to nearest), the rest in fp32, with the\n"
      "config and vocabularies and without optimizer state. translate, eval, score, serve and the\n"
      "Translator decode it in int8 unless --precision says otherwise; train --resume, --init-from and\n"
      "average refuse it. A checkpoint with a moving average (train.ema_decay) is quantised from it.\n"
      "docs/precision.md.");
  auto in = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  cmd->add_option("checkpoint", *in, "the checkpoint to quantise")->required()->check(CLI::ExistingFile);
  cmd->add_option("out", *out, "the int8 checkpoint to write")->required();
  return {cmd, [in, out] { return run_quantize(*in, *out); }};
}

}  // namespace

Command add_quantize_command(CLI::App& root) { return add_quantize(root); }

}  // namespace xseq::cli
