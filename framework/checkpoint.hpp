// Checkpoints: one HDF5 file per snapshot (layout: docs/checkpoint.md).
//   /params/<name>            float32, one dataset per parameter (dots -> '/')
//   /optimizer/slot<k>/<name> optimizer state; root attributes optimizer.type/.steps
//   /vocab/src, /vocab/tgt    vocabularies (strings), plus any other strings
//   root attributes           format_version, and what the caller adds: step,
//                             epoch, config, rng, iterator state, ...
// Everything is checksummed (framework/h5.hpp). Writes are atomic: a temporary
// file in the same directory, written, fsync'ed and read back in full, then
// renamed over the target, so a crash or a full disk never breaks the old file.
#pragma once

#include <map>
#include <string>

#include "framework/h5.hpp"
#include "framework/module.hpp"
#include "framework/optim.hpp"

namespace xseq {

/// 3: bytes datasets (the SentencePiece model as tokenizer/sentencepiece, opaque
/// bytes instead of version 2's base64 string tokenizer/sentencepiece_base64).
/// 2: every dataset and attribute checksummed (a version-2 or -3 file without its
/// checksum list is refused). Versions 1 and 2 still load (1 unverified).
constexpr int kCheckpointFormatVersion = 3;

struct CheckpointExtras {
  std::map<std::string, std::string> attributes;  ///< root attributes
  std::map<std::string, std::string> strings;     ///< string datasets by path ("vocab/src")
  std::map<std::string, std::string> bytes;       ///< bytes datasets by path ("tokenizer/sentencepiece")
  /// More parameter-shaped tensors by group, e.g. "ema": the moving average of the
  /// weights, stored like /params under /<group>/<name>.
  std::map<std::string, std::vector<NamedParameter>> groups;
};

/// Saves parameters, the optimizer state (if any), the model's generator states
/// (attribute "rng") and `extras`, atomically. On any failure (full disk, I/O error,
/// a read-back that does not match) the temporary is removed, an existing `path` is
/// left untouched, and the Error names `path` and the cause ("No space left on device").
void save_checkpoint(const std::string& path, Module& model, const Optimizer* optimizer,
                     const CheckpointExtras& extras);

/// The root attribute naming a quantised checkpoint's number format ("int8").
constexpr const char* kQuantizedAttribute = "quantized";
/// save_checkpoint, with the `quantized` parameters (2-D weights of `model`) stored
/// as int8 for inference (framework/quantize.hpp: per-row symmetric; a weight's
/// attached int8 copy when it has one, else quantize_rows of its value):
/// /int8/<path> the values (bytes, row-major), /int8_scales/<path> one fp32 scale
/// per row; the other parameters under /params; the root attribute "quantized" =
/// "int8". Every dataset is checksummed like the rest (docs/checkpoint.md).
void save_quantized_checkpoint(const std::string& path, Module& model, const std::vector<NamedParameter>& quantized,
                               const CheckpointExtras& extras, const Optimizer* optimizer = nullptr);
/// True for a checkpoint written by save_quantized_checkpoint (xseq quantize).
bool is_quantized(const H5File& file);
/// An Error for a quantised checkpoint, naming `what` ("train --resume") and the file.
void check_not_quantized(const H5File& file, const std::string& what);
/// Opens a checkpoint for reading and checks its format version; errors name
/// the file (missing, truncated, not HDF5, other version).
std::unique_ptr<H5File> open_checkpoint(const std::string& path);

/// Copies /params (or another group of parameter-shaped tensors) into `model`. In
/// a quantised checkpoint a weight under /int8 loads as its dequantised values
/// with the int8 copy attached (Variable::int8_weights). A mismatch names the first missing, unexpected, mis-shaped or non-finite (NaN, inf)
/// parameter with both shapes.
void load_parameters(const H5File& file, Module& model, const std::string& group = "params");
/// The weights to decode with: the moving average (/ema) when training kept one
/// (train.ema_decay), else /params. Translate, eval, average, score and --init-from use it.
std::string inference_group(const H5File& file);
void load_inference_parameters(const H5File& file, Module& model);
/// Restores the generator states saved by save_checkpoint.
void load_rng_states(const H5File& file, Module& model);

/// Deletes the "<name>.h5.tmp-<pid>" files in `directory` left by saves whose process
/// no longer exists (killed mid-save); returns how many it deleted. Temporaries of
/// live processes are kept. A missing directory deletes nothing.
std::size_t remove_stale_temporaries(const std::string& directory);

}  // namespace xseq
