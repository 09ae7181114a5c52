// Runs build/xseq as a child process (stdin from a string, stdout and stderr
// captured), for tests of exit codes, signals and what a user sees.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.hpp"

extern char** environ;

namespace xseq::test {

struct Process {
  pid_t pid = -1;
  std::string out_path, err_path;
  /// Waits; returns the exit code, or 128 + the signal that killed the child.
  int wait() const {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string out() const { return slurp(out_path); }
  std::string err() const { return slurp(err_path); }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

/// Starts `XSEQ_CLI args...` with `input` on stdin; output goes to <tag>.out/.err.
inline Process start_xseq(const std::vector<std::string>& args, const std::string& input, const std::string& tag) {
  Process p;
  p.out_path = tag + ".out";
  p.err_path = tag + ".err";
  const std::string in_path = tag + ".in";
  std::ofstream(in_path, std::ios::binary) << input;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, p.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, p.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> words{XSEQ_CLI};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  posix_spawn(&p.pid, XSEQ_CLI, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return p;
}

/// Runs it to the end.
inline int run_xseq(const std::vector<std::string>& args, const std::string& input, const std::string& tag,
                    std::string* out = nullptr, std::string* err = nullptr) {
  const Process p = start_xseq(args, input, tag);
  const int code = p.wait();
  if (out) *out = p.out();
  if (err) *err = p.err();
  return code;
}

/// Runs `xseq words...` in this process (xseq::cli::run); returns its exit code.
inline int run_cli(std::vector<std::string> words) {
  words.insert(words.begin(), "xseq");
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return xseq::cli::run(static_cast<int>(argv.size()), argv.data());
}

}  // namespace xseq::test
