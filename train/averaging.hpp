// The step-numbered checkpoints a run keeps (train.keep_checkpoints) and
// averaging checkpoints of one model (train.average_last, `xseq average`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xseq {

/// <dir>/ckpt-<step>.h5
std::string step_checkpoint_path(const std::string& dir, std::int64_t step);
/// The ckpt-<step>.h5 files in `dir`, oldest step first (other files ignored).
std::vector<std::string> step_checkpoints(const std::string& dir);
/// Deletes all but the newest `keep` step checkpoints; returns how many it deleted.
std::size_t remove_old_step_checkpoints(const std::string& dir, std::int64_t keep);
/// The newest `count` step checkpoints of `dir`; fewer is an error naming the
/// directory and what it holds.
std::vector<std::string> newest_step_checkpoints(const std::string& dir, std::int64_t count);

/// Averages the weights of checkpoints of one model into `out` (the moving average
/// when a checkpoint has one: inference_group). Errors name a checkpoint whose
/// vocabularies or parameters differ from the first's.
void average_checkpoints(const std::vector<std::string>& paths, const std::string& out);
/// average_checkpoints, or for a single checkpoint a checked copy of it (a run that
/// kept one step checkpoint, `--last 1`).
void average_or_copy(const std::vector<std::string>& paths, const std::string& out);

}  // namespace xseq
