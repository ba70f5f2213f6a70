// The PC's processors, firmware interfaces and boot: CPUs with their local APICs, the I/O APIC,
// fw_cfg, the ACPI tables and direct Linux boot, added to a PcMachine once its chipset and ISA
// devices exist.
#pragma once

#include "hw/core/machine.h"
#include "qapi/error.h"

namespace machina {

class PcMachine;

// Builds the CPUs, fw_cfg (/machine/fw_cfg) and loads the kernel for `machine` (one machine per
// process).
Status pc_platform_init(PcMachine& machine, const MachineParams& params);

// Once the command line's devices exist: writes the ACPI tables (which describe them) into guest
// RAM and fw_cfg, and again after every reset.
Status pc_platform_machine_done(PcMachine& machine);

}  // namespace machina
