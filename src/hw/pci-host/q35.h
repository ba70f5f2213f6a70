// The Q35 host (QEMU's hw/pci-host/q35.c): "q35-pcihost", the system-bus PCIe host bridge with
// the root bus "pcie.0", and "mch", its host bridge function 00.0 (Intel 82G33/P35 MCH as QEMU
// models it: vendor 8086, device 29c0, class 0600).
//
// - 0xCF8 / 0xCFC: configuration mechanism #1 (pci-host.h); 0xCF9 inside it belongs to the LPC
//   (reset control), which the host forwards.
// - ECAM: the MCH's PCIEXBAR (config 0x60, 64 bits): bit 0 enable, bits 2:1 length (0: 256 MiB /
//   256 buses, 1: 128 MiB, 2: 64 MiB, 3: reserved), base bits 35:28 (35:27 for 128 MiB, 35:26
//   for 64 MiB). Reset value 0xb0000000, disabled, as QEMU's (firmware enables it:
//   q35_firmware_init below).
// - PCI memory: BARs map into the "pci" container (all 2^64 bytes) that sits under system memory
//   at priority -1, so RAM and other devices win where they overlap (QEMU's layout); I/O BARs go
//   to the system I/O space.
// - The MCH's PAM (0x90-0x96), SMRAM (0x9d: reset 0x02, writable D_OPEN/D_CLS/D_LCK/G_SMRAME,
//   D_LCK locks it) and ESMRAMC (0x9e: reset 0x38) registers are storage: no memory remapping.
//
// QOM layout as QEMU's: /machine/q35 (q35-pcihost), /machine/q35/mch, /machine/q35/pcie.0.
#pragma once

#include <cstdint>

#include "hw/pci/pci-device.h"
#include "hw/pci/pci-host.h"

namespace machina {

inline constexpr const char* kTypeQ35Host = "q35-pcihost";
inline constexpr const char* kTypeMch = "mch";

inline constexpr uint16_t kMchConfigAddrPort = 0xcf8;
inline constexpr uint16_t kMchConfigDataPort = 0xcfc;
inline constexpr uint64_t kMchPciexbarDefault = 0xb0000000;       // QEMU's MCFG base
inline constexpr uint64_t kMchPciexbarMax = 0x10000000;           // 256 MiB: buses 0-255
inline constexpr uint64_t kQ35IoApicBase = 0xfec00000;            // end of the 32-bit PCI hole
inline constexpr uint64_t kQ35PciHole64SizeDefault = 1ull << 35;  // 32 GiB (QEMU 7.2)

namespace mch {
inline constexpr unsigned kPciexbar = 0x60;  // 64 bits
inline constexpr uint64_t kPciexbarEnable = 0x1;
inline constexpr uint64_t kPciexbarLengthMask = 0x6;
inline constexpr unsigned kPam0 = 0x90;  // PAM0-PAM6
inline constexpr unsigned kPamCount = 7;
inline constexpr unsigned kSmram = 0x9d;
inline constexpr uint8_t kSmramDefault = 0x02;
inline constexpr uint8_t kSmramDOpen = 0x40;
inline constexpr uint8_t kSmramDCls = 0x20;
inline constexpr uint8_t kSmramDLck = 0x10;
inline constexpr uint8_t kSmramGSmrame = 0x08;
inline constexpr unsigned kEsmramc = 0x9e;
inline constexpr uint8_t kEsmramcDefault = 0x38;  // SM_CACHE | SM_L1 | SM_L2
inline constexpr uint8_t kEsmramcWmask = 0x87;    // H_SMRAME | TSEG_SZ | T_EN
}  // namespace mch

class Mch;

class Q35PciHost : public PcieHostBridge {
 public:
  // RAM split around the 32-bit hole (QEMU's below-4g-mem-size / above-4g-mem-size): used for
  // the pci-hole properties the ACPI tables read.
  uint64_t below_4g_mem_size = 0;
  uint64_t above_4g_mem_size = 0;
  uint64_t pci_hole64_size = kQ35PciHole64SizeDefault;
  uint64_t mcfg_size_prop = kMchPciexbarMax;

  Mch* mch() const { return mch_; }
  // The "pci" container BARs are mapped into.
  MemoryRegion* pci_memory() { return &pci_memory_; }
  // 32-bit PCI hole [start, end): from the end of low RAM to the I/O APIC; 64-bit hole above RAM.
  uint64_t pci_hole_start() const { return below_4g_mem_size; }
  uint64_t pci_hole_end() const { return kQ35IoApicBase; }
  uint64_t pci_hole64_start() const;
  uint64_t pci_hole64_end() const { return pci_hole64_start() + pci_hole64_size; }

 protected:
  void post_init() override;
  Status do_realize() override;
  void do_unrealize() override;

 private:
  Status map_regions();
  void unmap_regions();

  MemoryRegion pci_memory_;
  Mch* mch_ = nullptr;
};

class Mch : public PciDevice {
 public:
  void config_write(uint32_t addr, uint32_t val, unsigned len) override;
  Q35PciHost* host() const;
  // ECAM as PCIEXBAR decodes it now.
  void update_pciexbar();

 protected:
  Status pci_realize() override;
  void pci_reset() override;

 private:
  void update_smram();
};

// Creates /machine/q35 on the main system bus with its MCH and realizes it.
Result<Q35PciHost*> q35_host_create(uint64_t below_4g_mem_size, uint64_t above_4g_mem_size);

}  // namespace machina
