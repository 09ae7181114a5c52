// Minimal command-line parsing for the xseq CLI: "--name value" options and
// positional arguments, with clear errors for unknown or malformed flags.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace xseq::cli {

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // without the leading "--"; the last value wins
  std::map<std::string, std::vector<std::string>> repeated;  // every value of each option, in order
  std::vector<std::string> flags;  // options without a value that were given

  /// Parses argv[first..]; every "--name" must be in `known` (takes a value)
  /// or in `known_flags` (takes none).
  static Args parse(int argc, char** argv, int first, const std::vector<std::string>& known,
                    const std::string& command, const std::vector<std::string>& known_flags = {});
  bool has_flag(const std::string& name) const;
  int get_int(const std::string& name, int fallback) const;
  std::uint64_t get_u64(const std::string& name, std::uint64_t fallback) const;
};

/// True if any argument after the command is --help or -h.
inline bool wants_help(int argc, char** argv) {
  for (int i = 2; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") return true;
  return false;
}

}  // namespace xseq::cli
