// PCI host bridges (QEMU's TYPE_PCI_HOST_BRIDGE "pci-host-bridge" and TYPE_PCIE_HOST_BRIDGE
// "pcie-host-bridge", both abstract): the root bus and the two ways the CPU reaches config space.
//
// - Configuration mechanism #1: CONFIG_ADDRESS (a dword register; bit 31 enables, bits 23:16 bus,
//   15:11 device, 10:8 function, 7:2 register) and CONFIG_DATA (4 bytes; byte, word and dword
//   accesses at offset 0-3 reach register + offset). Only dword writes at offset 0 change
//   CONFIG_ADDRESS; with bit 31 clear CONFIG_DATA reads all-ones and ignores writes; a function
//   that does not exist reads all-ones. This path reaches the first 256 bytes. The host exposes
//   the two 4-byte regions; the board maps them (0xCF8 / 0xCFC on a PC).
// - ECAM / MMCONFIG (PCIe): 4 KiB per function at base + (bus << 20 | devfn << 12), mapped into
//   system memory when the chipset enables it (mmcfg_update); reaches the whole config space of
//   PCIe functions on buses that allow it.
// Both end in the same function's config_read / config_write, so they show the same registers.
#pragma once

#include <cstdint>
#include <vector>

#include "hw/core/sysbus.h"
#include "hw/pci/pci-bus.h"
#include "system/memory.h"

namespace machina {

inline constexpr const char* kTypePciHostBridge = "pci-host-bridge";
inline constexpr const char* kTypePcieHostBridge = "pcie-host-bridge";
inline constexpr uint64_t kPcieBaseAddrUnmapped = ~uint64_t{0};
inline constexpr uint32_t kPciConfigAddressEnable = 0x80000000u;

class PciDevice;

class PciHostBridge : public SysBusDevice {
 public:
  PciHostBridge();
  PciBus* bus() const { return bus_; }
  uint32_t config_address() const { return config_reg_; }
  // The CONFIG_ADDRESS and CONFIG_DATA regions (QEMU's "pci-conf-idx" and "pci-conf-data").
  MemoryRegion* conf_mem() { return &conf_mem_; }
  MemoryRegion* data_mem() { return &data_mem_; }

  // A byte port inside the CONFIG_ADDRESS dword decoded by another device (on a PC, 0xCF9 is the
  // chipset's reset control). QEMU maps such a region over the index register and its memory
  // core hands a dword access at 0xCF8 whole to the index register; machina's splits an access
  // that crosses regions, so the host decodes the dword itself and forwards accesses that start
  // at `offset` (1-3) to `mr`. nullptr removes it.
  void set_conf_side_port(unsigned offset, MemoryRegion* mr);

 protected:
  void set_bus(PciBus* bus) { bus_ = bus; }
  void do_reset() override { config_reg_ = 0; }
  // Subclasses call these from their realize / unrealize.
  void register_host();
  void unregister_host();

 private:
  PciBus* bus_ = nullptr;
  uint32_t config_reg_ = 0;
  MemoryRegion conf_mem_;
  MemoryRegion data_mem_;
  MemoryRegion* side_port_ = nullptr;
  unsigned side_offset_ = 0;
};

class PcieHostBridge : public PciHostBridge {
 public:
  PcieHostBridge();
  // Maps (enable) or unmaps the ECAM window. `size`: a multiple of 1 MiB up to 256 MiB.
  void mmcfg_update(bool enable, uint64_t base, uint64_t size);
  bool mmcfg_enabled() const { return mmcfg_base_ != kPcieBaseAddrUnmapped; }
  // QEMU's "MCFG" property: the base, or kPcieBaseAddrUnmapped.
  uint64_t mmcfg_base() const { return mmcfg_base_; }
  uint64_t mmcfg_size() const { return mmcfg_size_; }
  MemoryRegion* mmcfg_mem() { return &mmcfg_; }

 protected:
  void post_init() override;
  void unmap_mmcfg() { mmcfg_update(false, 0, mmcfg_size_); }

 private:
  MemoryRegion mmcfg_;
  uint64_t mmcfg_base_ = kPcieBaseAddrUnmapped;
  uint64_t mmcfg_size_ = 0;
};

// The registered host bridges, in realize order (for `info pci` / query-pci).
const std::vector<PciHostBridge*>& pci_host_bridges();

// --- config cycles (QEMU's pci_host_config_{read,write}_common and pci_data_{read,write}).
// `limit` is the mechanism's reach (256 or 4096); the bus may lower it. Out of reach or hidden:
// reads all-ones, writes are dropped.
uint32_t pci_host_config_read_common(PciDevice& dev, uint32_t addr, uint32_t limit, unsigned len);
void pci_host_config_write_common(PciDevice& dev, uint32_t addr, uint32_t limit, uint32_t val,
                                  unsigned len);
// `addr` in CONFIG_ADDRESS format (bus 23:16, devfn 15:8, register 7:0).
uint32_t pci_data_read(PciBus& root, uint32_t addr, unsigned len);
void pci_data_write(PciBus& root, uint32_t addr, uint32_t val, unsigned len);

}  // namespace machina
