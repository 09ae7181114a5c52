// The training loop behind `xseq train`: batches, loss, clipping, schedules,
// accumulation, validation with early stopping, log.jsonl, atomic
// checkpoints (last.h5, best.h5) and exact resume.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "config/config.hpp"
#include "config/prepared_data.hpp"

namespace xseq {

class Communicator;

struct TrainOptions {
  bool resume = false;  ///< continue from <out_dir>/last.h5
  bool quiet = false;   ///< no progress output (tests)
  /// Called after every update (tests use it; so can user code).
  std::function<void(std::int64_t step, Seq2SeqModel& model)> after_step;
  /// Called with each line log.jsonl gets (a JSON object: progress, validation,
  /// test; docs/log.md), on the process that writes the log. Returning false stops
  /// the run before the next update, as early stopping does (stop_reason
  /// "callback"): last.h5 is saved, best.h5 tested, averaged.h5 written.
  std::function<bool(const std::string& json_line)> on_log;
  /// Fine-tuning: start from this checkpoint's weights (its moving average when it has
  /// one) with its tokenizer and vocabularies; optimizer, schedule and step start fresh.
  std::string init_from;
  /// The ranks training this model together (docs/distributed.md); nullptr = this
  /// process's (process_communicator(): one process unless started by mpirun).
  Communicator* communicator = nullptr;
};

struct TrainResult {
  std::int64_t steps = 0;
  /// "max_steps", "max_epochs", "max_minutes", "patience", "callback", "interrupted" (signal: 128 + exit_code's
  /// signal), "non-finite loss", "diverged"
  std::string stop_reason;
  std::map<std::string, double> valid;  ///< the last validation's metrics
  std::map<std::string, double> test;   ///< best.h5 on the test split (when there is one)
  std::map<std::string, double> test_averaged;  ///< averaged.h5 on the test split (train.average_last)
  int exit_code = 0;
};

TrainResult train_model(const Config& config, const TrainOptions& options);

}  // namespace xseq
