// UTF-8 validation and splitting into code points (the char tokenizer's units),
// and the text hygiene rules every line of a data file must pass.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xseq {

/// Byte offset of the first invalid UTF-8 sequence in `text` (overlong forms,
/// surrogates and values past U+10FFFF are invalid), or npos if valid.
std::size_t find_invalid_utf8(std::string_view text);

/// Byte offset of the first C0 control character (U+0000..U+001F) other than
/// TAB in `text`, or npos. NUL would truncate strings stored in checkpoints;
/// a stray CR, ESC or form feed is almost always a broken file.
std::size_t find_control_character(std::string_view text);

/// Throws xseq::Error naming `origin`:`line_number` and the 1-based byte column
/// if `line` (without its line ending) is not valid UTF-8 or holds a control
/// character other than TAB.
void check_text_line(std::string_view line, const std::string& origin, std::int64_t line_number);

/// Each code point as its own string; `text` must be valid UTF-8.
std::vector<std::string> split_code_points(std::string_view text);

}  // namespace xseq
