// What firmware (SeaBIOS's q35 set-up, which QEMU runs before a -kernel boot) does to the q35
// chipset before an operating system runs. machina boots kernels directly, without firmware, so
// the board calls q35_firmware_init once the machine is built and again after each reset. Done
// as firmware does it: config cycles through the host bridge and I/O port writes.
//
// - MCH PCIEXBAR = 0xb0000000 | enable (256 MiB, buses 0-255): ECAM on.
// - LPC PMBASE = 0x600 (QEMU/SeaBIOS's ACPI PM base), ACPI_CNTL = ACPI_EN with the SCI on IRQ 9.
// - LPC PIRQA-H routed to ISA IRQs 10, 10, 11, 11, 10, 10, 11, 11 and those IRQs made
//   level-triggered in the 8259 ELCR (port 0x4d1).
// - LPC RCBA = 0xfed1c000 | enable.
// It does not assign BARs or set INTERRUPT_LINE: with ACPI, Linux routes INTx through _PRT and
// assigns unassigned BARs from the host bridge's _CRS windows.
#pragma once

#include <cstdint>

#include "hw/pci/pci-bus.h"

namespace machina {

inline constexpr uint16_t kQ35AcpiPmBase = 0x600;
inline constexpr uint32_t kQ35RcbaAddress = 0xfed1c000;
// SeaBIOS's PIRQ -> ISA IRQ choice, for PIRQ n: kQ35PirqIrqs[n % 4].
inline constexpr uint8_t kQ35PirqIrqs[4] = {10, 10, 11, 11};

// `root` is the q35 root bus (pcie.0) with the MCH at 00.0 and the LPC at 1f.0.
Status q35_firmware_init(PciBus& root);

}  // namespace machina
