// The MSI-X capability: see msix.h.
#include "hw/pci/msix.h"

#include <cstring>
#include <vector>

#include "hw/pci/pci-device.h"
#include "system/memory.h"
#include "util/log.h"

namespace machina {

struct MsixState {
  unsigned nentries = 0;
  std::vector<uint8_t> table;  // nentries * 16 bytes, little-endian
  std::vector<uint8_t> pba;    // one bit per vector, rounded up to 8 bytes
  MemoryRegion table_mr, pba_mr;
  std::function<void(bool)> enable_notifier;
  bool was_masked_all = true;  // function masked or disabled before the last config write
  bool was_enabled = false;    // MSI-X Enable before the last config write

  ~MsixState() {
    for (MemoryRegion* mr : {&table_mr, &pba_mr}) {
      if (MemoryRegion* c = mr->container()) (void)c->del_subregion(mr);
    }
  }
};

namespace {

uint16_t control(const PciDevice& dev) {
  return dev.get_word(dev.msix_cap() + pci::kMsixFlags);
}

bool function_masked(const PciDevice& dev) {
  uint16_t c = control(dev);
  return !(c & pci::kMsixFlagsEnable) || (c & pci::kMsixFlagsMaskAll);
}

uint32_t entry_word(const MsixState& s, unsigned vector, unsigned field) {
  uint32_t v;
  std::memcpy(&v, &s.table[vector * pci::kMsixEntrySize + field], 4);
  return v;
}

bool vector_masked(const MsixState& s, unsigned vector) {
  return entry_word(s, vector, pci::kMsixEntryVectorCtrl) & pci::kMsixEntryCtrlMaskBit;
}

bool pending(const MsixState& s, unsigned v) {
  return s.pba[v / 8] & (1u << (v % 8));
}
void set_pending(MsixState& s, unsigned v, bool on) {
  if (on) {
    s.pba[v / 8] |= uint8_t(1u << (v % 8));
  } else {
    s.pba[v / 8] &= uint8_t(~(1u << (v % 8)));
  }
}

void send(PciDevice& dev, unsigned vector) {
  MsiMessage m = msix_get_message(dev, vector);
  dev.send_msi_message(m.address, m.data);
}

// A vector that just became unmasked sends what is pending.
void fire_if_unmasked_pending(PciDevice& dev, unsigned vector) {
  MsixState& s = *dev.msix_state();
  if (!pending(s, vector) || msix_is_masked(dev, vector)) return;
  set_pending(s, vector, false);
  send(dev, vector);
}

MemoryRegionOps table_ops(PciDevice* dev) {
  MemoryRegionOps ops;
  ops.read = [dev](uint64_t addr, unsigned size) -> uint64_t {
    MsixState* s = dev->msix_state();
    if (!s || addr + size > s->table.size()) return 0;
    uint64_t v = 0;
    std::memcpy(&v, &s->table[addr], size);
    return v;
  };
  ops.write = [dev](uint64_t addr, uint64_t value, unsigned size) {
    MsixState* s = dev->msix_state();
    if (!s || addr + size > s->table.size()) return;
    unsigned vector = unsigned(addr / pci::kMsixEntrySize);
    bool was_masked = msix_is_masked(*dev, vector);
    std::memcpy(&s->table[addr], &value, size);
    // Only bit 0 of vector control is defined; the rest reads as zero.
    unsigned ctrl = vector * pci::kMsixEntrySize + pci::kMsixEntryVectorCtrl;
    s->table[ctrl] &= pci::kMsixEntryCtrlMaskBit;
    std::memset(&s->table[ctrl + 1], 0, 3);
    if (was_masked && !msix_is_masked(*dev, vector)) fire_if_unmasked_pending(*dev, vector);
  };
  ops.valid.min_access_size = 4;
  ops.valid.max_access_size = 8;
  ops.impl.min_access_size = 4;
  ops.impl.max_access_size = 8;
  return ops;
}

MemoryRegionOps pba_ops(PciDevice* dev) {
  MemoryRegionOps ops;
  ops.read = [dev](uint64_t addr, unsigned size) -> uint64_t {
    MsixState* s = dev->msix_state();
    if (!s || addr + size > s->pba.size()) return 0;
    uint64_t v = 0;
    std::memcpy(&v, &s->pba[addr], size);
    return v;
  };
  ops.write = [](uint64_t, uint64_t, unsigned) {};  // read-only
  ops.valid.min_access_size = 4;
  ops.valid.max_access_size = 8;
  ops.impl.min_access_size = 4;
  ops.impl.max_access_size = 8;
  return ops;
}

void mask_all_entries(MsixState& s) {
  std::fill(s.table.begin(), s.table.end(), 0);
  for (unsigned v = 0; v < s.nentries; ++v) {
    s.table[v * pci::kMsixEntrySize + pci::kMsixEntryVectorCtrl] = pci::kMsixEntryCtrlMaskBit;
  }
  std::fill(s.pba.begin(), s.pba.end(), 0);
}

}  // namespace

uint64_t msix_exclusive_bar_size(unsigned nentries) {
  uint64_t table = uint64_t(nentries) * pci::kMsixEntrySize;
  uint64_t size = 4096;
  // Table in the lower half, PBA in the upper half.
  while (size / 2 < table || size / 2 < (nentries + 63) / 64 * 8) size *= 2;
  return size;
}

uint32_t msix_exclusive_bar_pba_offset(unsigned nentries) {
  return uint32_t(msix_exclusive_bar_size(nentries) / 2);
}

Result<uint8_t> msix_init(PciDevice& dev, unsigned nentries, MemoryRegion* table_bar,
                          uint8_t table_bar_nr, uint32_t table_offset, MemoryRegion* pba_bar,
                          uint8_t pba_bar_nr, uint32_t pba_offset, uint8_t cap_pos) {
  if (nentries == 0 || nentries > pci::kMsixVectorsMax) {
    return generic_error("MSI-X: invalid number of vectors " + std::to_string(nentries));
  }
  uint64_t table_size = uint64_t(nentries) * pci::kMsixEntrySize;
  uint64_t pba_size = (nentries + 63) / 64 * 8;
  if ((table_offset | pba_offset) & 7 || table_offset + table_size > table_bar->size() ||
      pba_offset + pba_size > pba_bar->size() ||
      (table_bar == pba_bar && table_offset < pba_offset + pba_size &&
       pba_offset < table_offset + table_size)) {
    return generic_error("MSI-X: table or PBA does not fit in its BAR");
  }
  auto r = dev.add_capability(pci::kCapIdMsix, cap_pos, pci::kMsixCapLength);
  if (!r.ok()) return r.error();
  uint8_t cap = r.value();
  auto s = std::make_shared<MsixState>();
  s->nentries = nentries;
  s->table.assign(table_size, 0);
  s->pba.assign(pba_size, 0);
  mask_all_entries(*s);
  s->table_mr.init_io(&dev, "msix-table", table_ops(&dev), table_size);
  s->pba_mr.init_io(&dev, "msix-pba", pba_ops(&dev), pba_size);
  {
    MemoryTransaction tx;
    if (Status st = table_bar->add_subregion(table_offset, &s->table_mr); !st.ok()) {
      dev.del_capability(pci::kCapIdMsix, pci::kMsixCapLength);
      return st.error();
    }
    if (Status st = pba_bar->add_subregion(pba_offset, &s->pba_mr); !st.ok()) {
      (void)table_bar->del_subregion(&s->table_mr);
      dev.del_capability(pci::kCapIdMsix, pci::kMsixCapLength);
      return st.error();
    }
  }
  dev.set_word(cap + pci::kMsixFlags, uint16_t(nentries - 1));
  dev.set_long(cap + pci::kMsixTable, table_offset | table_bar_nr);
  dev.set_long(cap + pci::kMsixPba, pba_offset | pba_bar_nr);
  dev.set_wmask(cap + pci::kMsixFlags, pci::kMsixFlagsEnable | pci::kMsixFlagsMaskAll, 2);
  dev.set_msix(cap, std::move(s));
  return cap;
}

void msix_uninit(PciDevice& dev) {
  if (!msix_present(dev)) return;
  dev.del_capability(pci::kCapIdMsix, pci::kMsixCapLength);
  {
    MemoryTransaction tx;
    MsixState* s = dev.msix_state();
    for (MemoryRegion* mr : {&s->table_mr, &s->pba_mr}) {
      if (MemoryRegion* c = mr->container()) (void)c->del_subregion(mr);
    }
    s->enable_notifier = nullptr;
    dev.retire_msix();
  }
}

bool msix_present(const PciDevice& dev) {
  return dev.msix_cap() != 0 && dev.msix_state() != nullptr;
}

bool msix_enabled(const PciDevice& dev) {
  return msix_present(dev) && (control(dev) & pci::kMsixFlagsEnable);
}

unsigned msix_nr_vectors(const PciDevice& dev) {
  return msix_present(dev) ? dev.msix_state()->nentries : 0;
}

bool msix_is_masked(const PciDevice& dev, unsigned vector) {
  if (!msix_present(dev) || vector >= dev.msix_state()->nentries) return true;
  return function_masked(dev) || vector_masked(*dev.msix_state(), vector);
}

bool msix_is_pending(const PciDevice& dev, unsigned vector) {
  if (!msix_present(dev) || vector >= dev.msix_state()->nentries) return false;
  return pending(*dev.msix_state(), vector);
}

MsiMessage msix_get_message(const PciDevice& dev, unsigned vector) {
  MsiMessage m;
  if (!msix_present(dev) || vector >= dev.msix_state()->nentries) return m;
  const MsixState& s = *dev.msix_state();
  m.address = uint64_t(entry_word(s, vector, pci::kMsixEntryUpperAddr)) << 32 |
              entry_word(s, vector, pci::kMsixEntryLowerAddr);
  m.data = entry_word(s, vector, pci::kMsixEntryData);
  return m;
}

void msix_notify(PciDevice& dev, unsigned vector) {
  if (!msix_enabled(dev)) return;
  MsixState& s = *dev.msix_state();
  if (vector >= s.nentries) {
    log_mask(LOG_GUEST_ERROR, dev.type_name() + ": MSI-X vector " + std::to_string(vector) +
                                  " beyond the table of " + std::to_string(s.nentries) +
                                  "; dropped");
    return;
  }
  if (msix_is_masked(dev, vector)) {
    set_pending(s, vector, true);
    return;
  }
  send(dev, vector);
}

void msix_set_enable_notifier(PciDevice& dev, std::function<void(bool)> fn) {
  if (msix_present(dev)) dev.msix_state()->enable_notifier = std::move(fn);
}

void msix_reset(PciDevice& dev) {
  if (!msix_present(dev)) return;
  MsixState& s = *dev.msix_state();
  bool was_enabled = msix_enabled(dev);
  uint8_t cap = dev.msix_cap();
  dev.set_word(cap + pci::kMsixFlags, control(dev) & pci::kMsixFlagsQsize);
  mask_all_entries(s);
  s.was_masked_all = true;
  s.was_enabled = false;
  if (was_enabled && s.enable_notifier) s.enable_notifier(false);
}

void msix_write_config(PciDevice& dev, uint32_t addr, uint32_t /*val*/, unsigned len) {
  if (!msix_present(dev)) return;
  uint32_t flags = dev.msix_cap() + pci::kMsixFlags;
  if (!(addr < flags + 2 && flags < addr + len)) return;
  MsixState& s = *dev.msix_state();
  bool enabled = msix_enabled(dev);
  bool masked_all = function_masked(dev);
  bool was_masked_all = s.was_masked_all;
  s.was_masked_all = masked_all;
  bool was_enabled = s.was_enabled;
  s.was_enabled = enabled;
  if (enabled) dev.deassert_intx();
  if (enabled != was_enabled && s.enable_notifier) s.enable_notifier(enabled);
  if (was_masked_all && !masked_all) {
    for (unsigned v = 0; v < s.nentries; ++v) fire_if_unmasked_pending(dev, v);
  }
}

}  // namespace machina
