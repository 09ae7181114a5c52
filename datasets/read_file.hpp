// Reading a whole (small) file, telling "cannot open" from "cannot read" (a
// directory, an I/O error) instead of returning an empty string for both.
#pragma once

#include <fstream>
#include <string>

#include "framework/error.hpp"

namespace xseq {

/// The bytes of `path`. Errors read "<owner>: cannot open <noun>'path'"
/// (owner "Vocab", noun "" or owner "sentencepiece", noun "model file ").
inline std::string read_whole_file(const std::string& path, const char* owner, const char* noun = "") {
  std::ifstream in(path, std::ios::binary);
  XSEQ_CHECK(in.is_open(), owner, ": cannot open ", noun, "'", path, "'");
  std::string bytes;
  char chunk[1 << 14];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) bytes.append(chunk, static_cast<std::size_t>(in.gcount()));
  XSEQ_CHECK(in.eof() && !in.bad(), owner, ": cannot read ", noun, "'", path, "' (a directory? an I/O error?)");
  return bytes;
}

}  // namespace xseq
