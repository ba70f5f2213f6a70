// machina-isa-bridge: a system-bus device that decodes an ISA bus ("isa.0") into the machine's I/O
// port space. It stands in for the PCI-to-ISA (LPC) bridge until the PCI host exists; the bus and
// the devices on it do not depend on which device is their parent.
#pragma once

#include <string_view>

#include "hw/isa/isa-bus.h"

namespace machina {

inline constexpr const char* kTypeIsaBridge = "machina-isa-bridge";

// Creates the bridge on the main system bus as /machine/NAME and returns its bus "isa.0".
Result<IsaBus*> isa_bridge_create(std::string_view name_in_machine);

}  // namespace machina
