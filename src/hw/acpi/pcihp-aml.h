// The DSDT's part of ACPI PCI hot-plug (the register block of pcihp.h), machina's layout of what
// QEMU 7.2's q35 DSDT has:
//
//   \_SB.PCI0: OperationRegion PCST (SystemIO, the block) with the fields PCIU, PCID, B0EJ, PCRM,
//     BNUM, PIDX, OSLT, OSTS (32 bits each); Mutex BLCK;
//     PCEJ (bsel, slot): BNUM = bsel, B0EJ = 1 << slot (under BLCK);
//     PCOS (bsel, slot, event, status): BNUM = bsel, OSLT = slot, OSTS = event | status << 16;
//     PCNT: calls the PCNT of every served port.
//   \_SB.PCI0.Sxx (one per served root port, xx = its devfn in hex; _ADR = slot << 16 | function):
//     BSEL = the bus selector; DVNT (bits, event): Notify (S00, event) when bit 0 is set;
//     PCNT: BNUM = BSEL, DVNT (PCIU, 1) (device check), DVNT (PCID, 3) (eject request);
//     S00, the slot behind the port: _ADR 0, _SUN 0, _EJ0 -> PCEJ (BSEL, _SUN),
//     _OST -> PCOS (BSEL, _SUN, Arg0, Arg1).
//   \_GPE._E01: PCNT under BLCK.
#pragma once

#include <cstdint>
#include <vector>

#include "hw/acpi/aml-build.h"

namespace machina {

// A root port whose bus ACPI hot-plug serves.
struct PcAcpiHotplugPort {
  int bsel = 0;
  int devfn = 0;  // of the port on the root bus
};

// Adds the register fields, the methods and the port devices to \_SB.PCI0.
void add_pcihp_to_pci0(aml::Aml& pci0, uint16_t io_base,
                       const std::vector<PcAcpiHotplugPort>& ports);
// Scope (\_GPE) with _E01.
aml::Aml pcihp_gpe_scope();

}  // namespace machina
