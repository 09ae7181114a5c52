// Numbers stored as string attributes of a checkpoint (step, epoch, optimizer
// steps, ...), read back with an error that names the file and the attribute
// when one is missing or edited into something that is not a number.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "framework/error.hpp"
#include "framework/h5.hpp"

namespace xseq {

inline std::int64_t int_attribute(const H5File& file, const std::string& key, std::int64_t lo = 0,
                                  std::int64_t hi = INT64_MAX) {
  const std::string text = file.attribute(key);
  XSEQ_CHECK(!text.empty(), "checkpoint '", file.path(), "' has no attribute '", key, "'");
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  XSEQ_CHECK(errno == 0 && end && *end == '\0' && v >= lo && v <= hi, "checkpoint '", file.path(), "': attribute '",
             key, "' is '", text, "', expected an integer in [", lo, ", ", hi, "]");
  return v;
}

inline double double_attribute(const H5File& file, const std::string& key) {
  const std::string text = file.attribute(key);
  XSEQ_CHECK(!text.empty(), "checkpoint '", file.path(), "' has no attribute '", key, "'");
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  XSEQ_CHECK(end && *end == '\0' && !std::isnan(v), "checkpoint '", file.path(), "': attribute '", key, "' is '", text,
             "', expected a number");
  return v;
}

}  // namespace xseq
