// Checkpoints: one HDF5 file per snapshot (layout: docs/checkpoint.md).
//   /params/<name>            float32, one dataset per parameter (dots -> '/')
//   /optimizer/slot<k>/<name> optimizer state; root attributes optimizer.type/.steps
//   /vocab/src, /vocab/tgt    vocabularies (strings), plus any other strings
//   root attributes           format_version, and what the caller adds: step,
//                             epoch, config, rng, iterator state, ...
// Writes are atomic: a temporary file in the same directory, flushed and
// fsync'ed, then renamed over the target, so a crash never leaves a broken file.
#pragma once

#include <map>
#include <string>

#include "framework/h5.hpp"
#include "framework/module.hpp"
#include "framework/optim.hpp"

namespace xseq {

constexpr int kCheckpointFormatVersion = 1;

struct CheckpointExtras {
  std::map<std::string, std::string> attributes;  ///< root attributes
  std::map<std::string, std::string> strings;     ///< string datasets by path ("vocab/src")
};

/// Saves parameters, the optimizer state (if any), the model's generator states
/// (attribute "rng") and `extras`, atomically.
void save_checkpoint(const std::string& path, Module& model, const Optimizer* optimizer,
                     const CheckpointExtras& extras);

/// Opens a checkpoint for reading and checks its format version; errors name
/// the file (missing, truncated, not HDF5, other version).
std::unique_ptr<H5File> open_checkpoint(const std::string& path);

/// Copies /params into `model`. A mismatch names the first missing,
/// unexpected or mis-shaped parameter.
void load_parameters(const H5File& file, Module& model);
/// Restores the generator states saved by save_checkpoint.
void load_rng_states(const H5File& file, Module& model);

}  // namespace xseq
