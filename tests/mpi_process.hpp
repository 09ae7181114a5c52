// Runs build/xseq under mpirun for the [distributed] tests: as root, on 2 cores,
// loopback TCP, stdin from /dev/null, stdout and stderr in <tag>.out / <tag>.err.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "process.hpp"
#include "framework/distributed.hpp"

namespace xseq::test {

/// False (with a warning, so the test passes) in a build without MPI support.
inline bool have_mpi() {
  if (mpi_support_built() && std::filesystem::exists(mpiexec_path())) return true;
  WARN("skipped: this build has no MPI support (install libopenmpi-dev and configure with XSEQ_MPI=ON)");
  return false;
}

/// Starts `mpirun <global options> args...` (args: "-np", "2", XSEQ_CLI, ... or an
/// MPMD list joined by ":").
inline Process start_mpirun(const std::vector<std::string>& args, const std::string& tag) {
  std::vector<std::string> words{mpiexec_path(), "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,tcp"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<std::string> env{"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"};
  // In the sanitizer build, LeakSanitizer would fail the ranks on OpenMPI's own
  // allocations left at MPI_Finalize; xseq's leaks are checked by the in-process tests.
  const char* asan = std::getenv("ASAN_OPTIONS");
  env.push_back(std::string("ASAN_OPTIONS=") + (asan ? std::string(asan) + ":" : "") + "detect_leaks=0");
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("ASAN_OPTIONS=", 0) != 0) env.push_back(*e);
  std::vector<char*> argv, envp;
  for (auto& w : words) argv.push_back(w.data());
  for (auto& e : env) envp.push_back(e.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  Process p;
  p.out_path = tag + ".out";
  p.err_path = tag + ".err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, p.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, p.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(posix_spawn(&p.pid, argv[0], &actions, nullptr, argv.data(), envp.data()) == 0);
  posix_spawn_file_actions_destroy(&actions);
  return p;
}

/// Waits; returns the exit code (128 + signal) and stderr, shown when it failed.
inline int finish_mpirun(const Process& p, std::string* err) {
  const int code = p.wait();
  const std::string text = p.err();
  if (err) *err = text;
  if (code != 0) UNSCOPED_INFO("mpirun stderr:\n" << text);
  return code;
}

}  // namespace xseq::test
