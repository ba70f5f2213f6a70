// machina-test-pci: a small PCI Express endpoint for the PCI tests, built the way a real device
// model uses the PCI core:
//   BAR0  I/O, 32 bytes: reads return 0xA0 + offset, writes are recorded
//   BAR1  32-bit memory, 4 KiB: reads return 0x1000 + offset, writes are recorded
//   BAR2  64-bit prefetchable memory, 16 KiB (BAR2/BAR3): reads return 0x2000 + offset
//   INTA, MSI (64-bit, 4 vectors, per-vector masking) at 0x50, PCIe capability at 0x80 (an
//   integrated endpoint on pcie.0), an extended capability (vendor-specific, ID 0x000b) at 0x100
//   0x40-0x4f: plain read/write scratch registers (device-specific space).
#pragma once

#include <cstdint>
#include <vector>

#include "hw/pci/pci-device.h"

namespace machina::test {

inline constexpr const char* kTypeTestPci = "machina-test-pci";
inline constexpr uint16_t kTestPciVendor = 0x1234;
inline constexpr uint16_t kTestPciDevice = 0x11e8;
inline constexpr uint16_t kTestPciClass = 0x0200;  // Ethernet controller
inline constexpr uint8_t kTestMsiCap = 0x50;
inline constexpr uint8_t kTestExpCap = 0x80;
inline constexpr uint16_t kTestExtCap = 0x100;
inline constexpr uint16_t kTestExtCapId = 0x000b;

class TestPciDevice : public PciDevice {
 public:
  struct Access {
    int bar;
    uint64_t offset;
    uint64_t value;
    unsigned size;
  };
  std::vector<Access> writes;

 protected:
  Status pci_realize() override;

 private:
  MemoryRegion io_, mmio_, mmio64_;
};

// machina-test-pci-bridge: the smallest PCI-PCI bridge (type 1 header, Red Hat's 1b36:0001 IDs,
// class 0604) with a secondary bus "test-bridge-bus". Bus numbers, windows and INTx swizzling are
// the PCI core's; nothing else.
inline constexpr const char* kTypeTestPciBridge = "machina-test-pci-bridge";
inline constexpr const char* kTestBridgeBus = "test-bridge-bus";

class TestPciBridge : public PciDevice {
 protected:
  Status pci_realize() override;
};

}  // namespace machina::test
