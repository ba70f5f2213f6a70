// JSON text as QEMU's QMP monitor writes it: compact with a space after ':' and ',', ASCII only
// (everything else escaped as \uXXXX, with surrogate pairs beyond the BMP), invalid UTF-8
// replaced by U+FFFD.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace machina {

using json = nlohmann::json;

// Appends `value` to `out` (no line terminator).
void json_write(std::string& out, const json& value);
// Appends `s` as a quoted JSON string.
void json_write_string(std::string& out, std::string_view s);
// `value` as text (no line terminator).
std::string json_to_qmp_text(const json& value);

// Decodes the (modified) UTF-8 sequence at s[pos] and advances pos past it. Returns the code
// point, or -1 for an invalid sequence (bad byte, truncated, overlong other than "\xC0\x80",
// surrogate, noncharacter, beyond U+10FFFF), as QEMU's mod_utf8_codepoint does.
int32_t utf8_decode_one(std::string_view s, size_t& pos);
// True for a code point QEMU accepts in strings (no surrogates, noncharacters, > U+10FFFF).
bool unicode_codepoint_valid(uint32_t cp);
// Appends cp as UTF-8 (U+0000 as a plain 0 byte).
void utf8_append(std::string& out, uint32_t cp);

}  // namespace machina
