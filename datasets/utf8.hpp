// UTF-8 validation and splitting into code points (the char tokenizer's units).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace xseq {

/// Byte offset of the first invalid UTF-8 sequence in `text` (overlong forms,
/// surrogates and values past U+10FFFF are invalid), or npos if valid.
std::size_t find_invalid_utf8(std::string_view text);

/// Each code point as its own string; `text` must be valid UTF-8.
std::vector<std::string> split_code_points(std::string_view text);

}  // namespace xseq
