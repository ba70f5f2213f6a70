// The PCI Express capability (ID 0x10, version 2) for endpoints and ports, as QEMU's
// hw/pci/pcie.c builds it: a 2.5 GT/s x1 link, role-based error reporting, extended fmt field and
// end-end TLP prefix supported. Error reporting enables (DEVCTL) and the link control bits Linux
// touches can be opened with the helpers below; slot and root registers (hotplug, PME) belong to
// the port models that use them.
#pragma once

#include <cstdint>

#include "hw/pci/pci-regs.h"
#include "qapi/error.h"

namespace machina {

class PciDevice;

// Adds the capability (offset 0: anywhere) for a function of `type`; `port` is the port number
// in LNKCAP. Returns its offset. Only for PCI Express functions (4 KiB config space).
Result<uint8_t> pcie_cap_init(PciDevice& dev, uint8_t offset, pci::PcieType type, uint8_t port);
// An endpoint: a root-complex integrated endpoint on a PCIe root bus, else a PCIe endpoint
// (QEMU's pcie_endpoint_cap_init).
Result<uint8_t> pcie_endpoint_cap_init(PciDevice& dev, uint8_t offset);
pci::PcieType pcie_cap_type(const PciDevice& dev);
// DEVCTL error reporting enables writable, DEVSTA error bits write-1-to-clear.
void pcie_cap_deverr_init(PciDevice& dev);
// LNKCTL ASPM control and extended synch writable.
void pcie_cap_lnkctl_init(PciDevice& dev);
// Sets or clears LNKSTA's data link layer link active bit (ports with a device behind them).
void pcie_cap_set_link_active(PciDevice& dev, bool active);

}  // namespace machina
