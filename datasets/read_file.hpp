// Reading a whole (small) file, telling "cannot open" from "cannot read" (a
// directory, an I/O error) instead of returning an empty string for both.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "framework/error.hpp"

namespace xseq {

/// " (resolved: /abs/path)" for a relative path, "" for an absolute one: what
/// errors about files add, since every path in a config is relative to the
/// working directory (docs/config.md, "Paths").
inline std::string resolved_note(const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return "";
  std::error_code ec;
  const auto abs = std::filesystem::absolute(path, ec);
  return ec ? "" : " (resolved: " + abs.lexically_normal().string() + ")";
}

/// The bytes of `path`. Errors read "<owner>: cannot open <noun>'path'"
/// (owner "Vocab", noun "" or owner "sentencepiece", noun "model file ").
inline std::string read_whole_file(const std::string& path, const char* owner, const char* noun = "") {
  std::ifstream in(path, std::ios::binary);
  XSEQ_CHECK(in.is_open(), owner, ": cannot open ", noun, "'", path, "'", resolved_note(path));
  std::string bytes;
  char chunk[1 << 14];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) bytes.append(chunk, static_cast<std::size_t>(in.gcount()));
  XSEQ_CHECK(in.eof() && !in.bad(), owner, ": cannot read ", noun, "'", path, "' (a directory? an I/O error?)");
  return bytes;
}

}  // namespace xseq
