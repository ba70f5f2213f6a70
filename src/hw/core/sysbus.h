// The system bus (QEMU's main-system-bus) and devices that sit on it: memory-mapped and port-I/O
// devices with GPIO lines, mapped into the machine's address spaces.
#pragma once

#include "hw/core/qdev.h"

namespace machina {

inline constexpr const char* kTypeSystemBus = "System";
inline constexpr const char* kTypeSysBusDevice = "sys-bus-device";

// The machine's main system bus, created on first use under /machine/unattached/sysbus.
Bus* sysbus_get_default();

class SysBusDevice : public Device {};

// Creates a sysbus device of `type` (not user-created), realizes it on the main system bus.
Result<Device*> sysbus_create(std::string_view type, std::string_view name_in_machine = "");

}  // namespace machina
