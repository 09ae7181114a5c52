// xseq::Error and the XSEQ_CHECK macro: every failed check names the op, the
// shapes involved and what was expected.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace xseq {

/// The base of every exception xseq throws for bad input: wrong shapes,
/// out-of-range indices, bad files. The message says what was given and what
/// was expected. The subclasses below say which kind of input was wrong
/// (docs/api.md, "Errors"); code that does not care catches xseq::Error.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A checkpoint that is missing, unreadable, damaged (checksums), of another
/// format version, or whose model cannot be built (a plugin it needs is absent).
class CheckpointError : public Error {
 public:
  explicit CheckpointError(const std::string& what, bool missing = false) : Error(what), missing_(missing) {}
  /// True when the file does not exist at all.
  bool missing() const { return missing_; }

 private:
  bool missing_;
};

/// A config file, key or value that is wrong (the message names the file, the
/// line and the key, and suggests the closest known key).
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// An option of an API call (or a flag) that is out of range, or two options
/// that cannot go together (beam 2 with sampling, n-best above the beam).
class OptionError : public Error {
 public:
  using Error::Error;
};

/// Input text the model cannot take: not UTF-8, a control character, longer
/// than the input limit when truncation is off, mismatched list lengths.
class InputError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace xseq

/// Throws xseq::Error with the streamed message parts when `cond` is false:
///   XSEQ_CHECK(a.dim(-1) == b.dim(0), "matmul: a ", a.shape(), " and b ", b.shape(), " ...");
#define XSEQ_CHECK(cond, ...)                                        \
  do {                                                               \
    if (!(cond)) throw ::xseq::Error(::xseq::detail::concat(__VA_ARGS__)); \
  } while (0)

/// XSEQ_CHECK throwing a subclass of xseq::Error:
///   XSEQ_CHECK_AS(OptionError, beam >= 1, "beam must be >= 1, got ", beam);
#define XSEQ_CHECK_AS(type, cond, ...)                                       \
  do {                                                                       \
    if (!(cond)) throw ::xseq::type(::xseq::detail::concat(__VA_ARGS__));   \
  } while (0)
