// The files of a run directory besides checkpoints: the directory itself,
// config.toml (written atomically) and log.jsonl (one JSON object per line).
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace xseq {

/// Creates the run directory (an error names it and the OS's reason) and removes
/// temporary checkpoint files that processes which died mid-save left behind.
void prepare_run_directory(const std::string& dir, bool quiet);

/// Writes `text` to a temporary file beside `path` and renames it over `path`.
void write_file_atomically(const std::string& path, const std::string& text);

/// log.jsonl. On resume it keeps only the lines up to the resumed step, so each
/// step appears once even when the run died after its last checkpoint.
class RunLog {
 public:
  void open(const std::string& path, bool resume, std::int64_t resumed_step);
  /// Appends one line; a failed write (full disk) is reported once, not fatal:
  /// checkpoints, not the log, are what a run must not lose.
  void write(const std::string& json_line);

 private:
  std::string path_;
  std::ofstream out_;
  bool warned_ = false;
};

}  // namespace xseq
