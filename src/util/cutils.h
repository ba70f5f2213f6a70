// Parsing of the scalar values QEMU accepts in option strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace machina {

// on/off/yes/no/true/false (QEMU's qapi_bool_parse).
std::optional<bool> parse_bool(std::string_view s);
// Integers with base auto-detection (0x hex, 0 octal, decimal), optional sign; whole string.
std::optional<int64_t> parse_int64(std::string_view s);
std::optional<uint64_t> parse_uint64(std::string_view s);
// Sizes: plain bytes or with a suffix b/k/K/M/G/T/P/E (powers of 1024), fractions allowed with a
// suffix ("1.5G"). Default unit is bytes.
std::optional<uint64_t> parse_size(std::string_view s);

}  // namespace machina
