// -d / -D logging (QEMU's qemu_log_mask): categories enabled by -d, written to -D FILE or stderr.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "qapi/error.h"

namespace machina {

enum LogMask : unsigned {
  LOG_GUEST_ERROR = 1u << 0,  // guest_errors
  LOG_UNIMP = 1u << 1,        // unimp
  LOG_INT = 1u << 2,          // int
  LOG_CPU = 1u << 3,          // cpu
  LOG_IN_ASM = 1u << 4,       // in_asm
  LOG_EXEC = 1u << 5,         // exec
  LOG_TRACE = 1u << 6,        // trace
};

// Enables the -d items (unknown item: an error naming it) and opens the -D file.
Status log_setup(const std::vector<std::string>& items, const std::optional<std::string>& file);
bool log_enabled(unsigned mask);
// Writes a line (a '\n' is added if missing) when `mask` is enabled.
void log_mask(unsigned mask, const std::string& text);

}  // namespace machina
