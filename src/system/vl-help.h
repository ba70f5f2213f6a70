// Texts of the help options (-machine help, -device help, -device TYPE,help, ...).
#pragma once

#include <string>

#include "qapi/error.h"

namespace machina {

std::string machine_help_text();
std::string accel_help_text();
std::string cpu_help_text();
std::string device_help_text();
Result<std::string> device_type_help_text(const std::string& driver);
std::string object_help_text();

}  // namespace machina
