#include "datasets/utf8.hpp"

#include <cstdio>

#include "framework/error.hpp"

namespace xseq {
namespace {

// Length of the valid sequence starting at text[i], or 0 if it is invalid.
std::size_t sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;   // no overlong forms
    if (c == 0xED) hi = 0x9F;   // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;   // <= U+10FFFF
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  return n;
}

}  // namespace

std::size_t find_invalid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = sequence_length(text, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::size_t find_control_character(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 && c != '\t') return i;
  }
  return std::string_view::npos;
}

void check_text_line(std::string_view line, const std::string& origin, std::int64_t line_number) {
  const std::size_t bad = find_invalid_utf8(line);
  XSEQ_CHECK(bad == std::string_view::npos, origin, ":", line_number, ": invalid UTF-8 at byte ", bad + 1,
             " of the line");
  const std::size_t ctl = find_control_character(line);
  if (ctl == std::string_view::npos) return;
  const auto c = static_cast<unsigned char>(line[ctl]);
  char code[8];
  std::snprintf(code, sizeof code, "U+%04X", c);
  const char* what = c == 0 ? "a NUL byte (U+0000)" : c == '\r' ? "a carriage return (U+000D)" : nullptr;
  XSEQ_CHECK(false, origin, ":", line_number, ": ", (what ? what : "control character "), (what ? "" : code),
             " at byte ", ctl + 1, " of the line (text may hold no control characters but TAB; lines end in LF or CRLF)");
}

std::vector<std::string> split_code_points(std::string_view text) {
  std::vector<std::string> out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = sequence_length(text, i);
    if (n == 0) n = 1;  // callers validate first; never loop forever
    out.emplace_back(text.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace xseq
