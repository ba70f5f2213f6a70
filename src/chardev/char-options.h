// Reading -chardev options: typed accessors with QEMU's error texts, the list of accepted keys,
// and the legacy "-serial unix:PATH,server" syntax.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "chardev/char.h"

namespace machina {

// on/off/yes/no/true/false; absent: the default. Error: "Parameter 'KEY' expects 'on' or 'off'".
Result<bool> opt_bool(const ChardevOptions& opts, std::string_view key, bool dflt);
// A non-negative integer; absent: the default. Error: "Parameter 'KEY' expects a number".
Result<int64_t> opt_number(const ChardevOptions& opts, std::string_view key, int64_t dflt);
std::optional<std::string> opt_string(const ChardevOptions& opts, std::string_view key);

// Rejects keys no chardev backend knows ("Invalid parameter 'KEY'") and features machina does
// not implement ("'telnet' is not supported").
Status check_chardev_options(const ChardevOptions& opts);

}  // namespace machina
