// pcie-root-port: QEMU's generic PCI Express root port (Red Hat 1b36:000c, class 0604), a
// PCI-PCI bridge on the root complex with one hot-plug slot (pcie-slot.h) behind it.
//
// Config space, QEMU's layout: 0x40 bridge subsystem ID capability (0000:0000), 0x48 MSI-X
// (one vector; table and PBA in BAR 0, 4 KiB, 32-bit memory), 0x54 the PCI Express capability
// (root port, slot implemented, link-active reporting), INTA. The secondary bus is named after
// the port's id (`-device pcie-root-port,id=rp1` -> bus "rp1"; "pcie.N" without one) and takes
// one device, in slot 0 (functions 0-7): "PCI: slot N is not valid for DRIVER, parent device
// only allows plugging into slot 0."
//
// Setting SECONDARY BUS RESET in BRIDGE CONTROL resets every device below. The bridge's I/O and
// memory windows are registers only: BARs behind the port are decoded in the root complex's
// windows directly (as the PCI core does for every bridge), which is what a guest that programs
// windows consistently sees anyway. The firmware resource-reservation properties (`bus-reserve`,
// `io-reserve`, `mem-reserve`, `pref32-reserve`, `pref64-reserve`) are accepted and unused:
// machina boots Linux without firmware, and Linux sizes hot-plug windows itself.
#pragma once

#include "hw/pci/pcie-slot.h"

namespace machina {

inline constexpr const char* kTypePcieRootPortBase = "pcie-root-port-base";
inline constexpr const char* kTypePcieRootPort = "pcie-root-port";
inline constexpr uint16_t kPciVendorIdRedhat = 0x1b36;
inline constexpr uint16_t kPciDeviceIdRedhatPcieRootPort = 0x000c;
inline constexpr uint8_t kPcieRootPortSsvidCap = 0x40;
inline constexpr uint8_t kPcieRootPortMsixCap = 0x48;
inline constexpr uint8_t kPcieRootPortExpCap = 0x54;

class PcieRootPort : public PcieSlot {
 public:
  static void class_init(ObjectClass& oc);
  void config_write(uint32_t addr, uint32_t val, unsigned len) override;

 protected:
  Status pci_realize() override;
  void pci_unrealize() override;
  void pci_reset() override;

 private:
  MemoryRegion msix_bar_;
  uint64_t bus_reserve_ = UINT32_MAX;
  uint64_t io_reserve_ = UINT64_MAX;
  uint64_t mem_reserve_ = UINT64_MAX;
  uint64_t pref32_reserve_ = UINT64_MAX;
  uint64_t pref64_reserve_ = UINT64_MAX;
};

}  // namespace machina
