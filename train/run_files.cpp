#include "train/run_files.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "framework/checkpoint.hpp"
#include "framework/error.hpp"
#include "eval/report.hpp"

namespace xseq {

void prepare_run_directory(const std::string& dir, bool quiet) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  XSEQ_CHECK(!ec, "cannot create the run directory '", dir, "' (train.out_dir or --out): ", ec.message());
  const std::size_t removed = remove_stale_temporaries(dir);
  if (removed > 0 && !quiet)
    std::fprintf(stderr, "removed %zu temporary checkpoint file(s) left in %s by processes that died while saving\n",
                 removed, dir.c_str());
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out.good()) {
      std::remove(tmp.c_str());
      XSEQ_CHECK(false, "cannot write '", path, "' (disk full or not writable?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::remove(tmp.c_str());
  XSEQ_CHECK(!ec, "cannot write '", path, "': ", ec.message());
}

void RunLog::open(const std::string& path, bool resume, std::int64_t resumed_step) {
  path_ = path;
  if (resume) {
    std::ifstream old(path);
    std::string kept, line;
    while (std::getline(old, line)) {
      const auto fields = parse_log_line(line);  // empty for a line cut short by a crash
      const auto step = fields.find("step");
      if (step != fields.end() && step->second <= double(resumed_step)) kept += line + "\n";
    }
    write_file_atomically(path, kept);
  }
  out_.open(path, resume ? std::ios::app : std::ios::trunc);
  XSEQ_CHECK(out_.good(), "cannot write '", path, "'");
}

void RunLog::write(const std::string& json_line) {
  out_ << json_line << "\n";
  out_.flush();
  if (!out_.good() && !warned_) {
    std::fprintf(stderr, "\nwarning: cannot write to '%s' (disk full?); training goes on without it\n", path_.c_str());
    warned_ = true;
  }
}

}  // namespace xseq
