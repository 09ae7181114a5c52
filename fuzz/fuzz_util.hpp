// Shared by the harnesses: the fuzz input as a file (the readers take paths;
// HDF5 can only open files by name), without touching the disk.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace xseq::fuzz {

/// An anonymous in-memory file (memfd) holding `bytes`, reachable by path as
/// /proc/self/fd/N. A fresh one per input, so no state (HDF5's open-file
/// table, file locks) carries over from one input to the next.
class MemFile {
 public:
  MemFile(std::string_view name, std::string_view bytes) {
    fd_ = ::memfd_create(std::string(name).c_str(), MFD_CLOEXEC);
    if (fd_ < 0) die("memfd_create");
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n <= 0) die("write");
      done += static_cast<std::size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] static void die(const char* what) {
    std::perror(what);
    std::abort();
  }
  int fd_ = -1;
  std::string path_;
};

/// A named file on tmpfs (/dev/shm) holding `bytes`, removed at the end of
/// the input: for HDF5, which resolves the real path of what it opens and so
/// cannot open a memfd. Named after the process, so parallel jobs do not collide.
class ShmFile {
 public:
  ShmFile(std::string_view name, std::string_view bytes) {
    const char* dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    path_ = std::string(dir) + "/xseq-fuzz-" + std::to_string(::getpid()) + "-" + std::string(name);
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) die("open");
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) die("write");
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  ~ShmFile() { ::unlink(path_.c_str()); }
  ShmFile(const ShmFile&) = delete;
  ShmFile& operator=(const ShmFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] static void die(const char* what) {
    std::perror(what);
    std::abort();
  }
  std::string path_;
};

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Splits `text` at the first `separator` into `first` and `second`; false when it is absent.
inline bool split_at(std::string_view text, std::string_view separator, std::string_view& first,
                     std::string_view& second) {
  const std::size_t at = text.find(separator);
  if (at == std::string_view::npos) return false;
  first = text.substr(0, at);
  second = text.substr(at + separator.size());
  return true;
}

/// Prints a rejected input's message when XSEQ_FUZZ_VERBOSE is set (to see
/// why a seed or a crash reproducer is rejected: run the harness on that file).
inline void rejected(const std::exception& e) {
  static const bool verbose = std::getenv("XSEQ_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "rejected: %s\n", e.what());
}

/// Stops the run with a message: an invariant of the code under test broke
/// (libFuzzer reports it as a crash and saves the input).
[[noreturn]] inline void invariant_failed(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant failed: %s\n", what.c_str());
  std::abort();
}

}  // namespace xseq::fuzz
