// xseq::Error and the XSEQ_CHECK macro: every failed check names the op, the
// shapes involved and what was expected.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace xseq {

/// The one exception type xseq throws for bad input: wrong shapes, out-of-range
/// indices, bad files. The message says what was given and what was expected.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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
