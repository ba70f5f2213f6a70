// The PC's processors and boot: CPUs with their local APICs, the I/O APIC, and direct Linux
// boot, added to a PcMachine once its RAM and ISA devices exist.
#pragma once

#include "hw/core/machine.h"
#include "qapi/error.h"

namespace machina {

class PcMachine;

// Builds them for `machine` (one machine per process).
Status pc_platform_init(PcMachine& machine, const MachineParams& params);

}  // namespace machina
