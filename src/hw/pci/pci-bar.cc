// PCI BARs: registration (type bits read-only, size mask writable), the address a BAR decodes
// with QEMU's rules (pci_bar_address) and mapping into the bus windows when it changes.
#include <cassert>

#include "hw/pci/pci-device.h"

namespace machina {

unsigned PciDevice::bar_offset(int n) const {
  if (n != pci::kRomSlot) return pci::kBaseAddress0 + unsigned(n) * 4;
  return pci_class().is_bridge ? pci::kRomAddress1 : pci::kRomAddress;
}

void PciDevice::register_bar(int n, uint8_t type, MemoryRegion* mr) {
  assert(n >= 0 && n < pci::kNumRegions && mr);
  uint64_t size = mr->size();
  assert(size && (size & (size - 1)) == 0);  // a power of two
  assert(!pci_class().is_bridge || n < 2 || n == pci::kRomSlot);
  PciIoRegion& r = regions_[size_t(n)];
  r.size = size;
  r.type = type;
  r.memory = mr;
  r.addr = kPciBarUnmapped;
  PciBus* bus = pci_bus();
  r.space = (type & pci::kBaseAddressSpaceIo) ? (bus ? bus->io_space() : get_system_io())
                                              : (bus ? bus->mem_space() : get_system_memory());
  uint64_t mask = ~(size - 1);
  if (n == pci::kRomSlot) mask |= pci::kRomAddressEnable;
  unsigned off = bar_offset(n);
  set_long(off, type);
  if (!(type & pci::kBaseAddressSpaceIo) && (type & pci::kBaseAddressMemType64)) {
    set_wmask(off, mask, 8);
  } else {
    set_wmask(off, mask & 0xffffffff, 4);
  }
}

uint64_t PciDevice::bar_address(int n) const {
  const PciIoRegion& r = regions_[size_t(n)];
  if (!r.size || config_.empty() || !has_power_) return kPciBarUnmapped;
  uint16_t cmd = get_word(pci::kCommand);
  unsigned off = bar_offset(n);
  uint64_t size = r.size;
  if (r.type & pci::kBaseAddressSpaceIo) {
    if (!(cmd & pci::kCommandIo)) return kPciBarUnmapped;
    uint64_t addr = get_long(off) & ~(size - 1);
    uint64_t last = addr + size - 1;
    // A 32-bit range that wraps, reaches 4 GiB, or starts at 0 is not decoded (as QEMU).
    if (last <= addr || last >= 0xffffffffull || addr == 0) return kPciBarUnmapped;
    return addr;
  }
  if (!(cmd & pci::kCommandMemory)) return kPciBarUnmapped;
  bool is64 = r.type & pci::kBaseAddressMemType64;
  uint64_t addr = is64 ? get_quad(off) : get_long(off);
  if (n == pci::kRomSlot && !(addr & pci::kRomAddressEnable)) return kPciBarUnmapped;
  addr &= ~(size - 1);
  uint64_t last = addr + size - 1;
  if (last <= addr || last == kPciBarUnmapped || addr == 0) return kPciBarUnmapped;
  if (!is64 && last >= 0xffffffffull) return kPciBarUnmapped;
  return addr;
}

void PciDevice::update_mappings() {
  MemoryTransaction tx;
  for (int n = 0; n < pci::kNumRegions; ++n) {
    PciIoRegion& r = regions_[size_t(n)];
    if (!r.size) continue;
    uint64_t addr = bar_address(n);
    if (addr == r.addr) continue;
    if (r.addr != kPciBarUnmapped && r.memory->container()) {
      (void)r.memory->container()->del_subregion(r.memory);
    }
    r.addr = addr;
    if (addr != kPciBarUnmapped) {
      // Overlapping BARs are allowed: the newest mapping of equal priority wins (as QEMU).
      if (!r.space->add_subregion(addr, r.memory, 1).ok()) r.addr = kPciBarUnmapped;
    }
  }
}

void PciDevice::unmap_all_bars() {
  MemoryTransaction tx;
  for (PciIoRegion& r : regions_) {
    if (r.size && r.addr != kPciBarUnmapped && r.memory->container()) {
      (void)r.memory->container()->del_subregion(r.memory);
    }
    r.addr = kPciBarUnmapped;
  }
}

}  // namespace machina
