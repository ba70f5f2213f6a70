// PCI capability lists: the standard list from CAPABILITY_LIST (0x34) and, for PCI Express, the
// extended list from 0x100. Added capabilities are read-only unless the caller opens bits.
#include <cstdio>
#include <cstring>

#include "hw/pci/pci-device.h"

namespace machina {

namespace {

unsigned align4(unsigned n) {
  return (n + 3) & ~3u;
}

}  // namespace

uint8_t PciDevice::find_capability(uint8_t cap_id) const {
  if (config_.empty() || !(get_word(pci::kStatus) & pci::kStatusCapList)) return 0;
  int guard = 0;
  for (uint8_t next = config_[pci::kCapabilityList]; next && guard < 64; ++guard) {
    if (config_[next + pci::kCapListId] == cap_id) return next;
    next = config_[next + pci::kCapListNext];
  }
  return 0;
}

Result<uint8_t> PciDevice::add_capability(uint8_t cap_id, uint8_t offset, uint8_t size) {
  if (!offset) {
    // The first gap of `size` bytes after the header (QEMU's pci_find_space).
    unsigned start = pci::kConfigHeaderSize;
    for (unsigned i = pci::kConfigHeaderSize; i < pci::kConfigSpaceSize; ++i) {
      if (used_[i]) {
        start = i + 1;
      } else if (i - start + 1 == size) {
        offset = uint8_t(start);
        break;
      }
    }
    if (!offset) return generic_error("PCI: no space for capability " + std::to_string(cap_id));
  } else {
    if (offset < pci::kConfigHeaderSize || unsigned(offset) + size > pci::kConfigSpaceSize) {
      return generic_error("PCI: capability offset out of range");
    }
    for (unsigned i = offset; i < unsigned(offset) + size; ++i) {
      if (!used_[i]) continue;
      // The capability that covers byte i: the highest start at or below it.
      uint8_t found = 0;
      int guard = 0;
      for (uint8_t next = config_[pci::kCapabilityList]; next && guard < 64; ++guard) {
        if (next <= i && next > found) found = next;
        next = config_[next + pci::kCapListNext];
      }
      char buf[192];
      std::snprintf(buf, sizeof buf,
                    "0000:00:%02x:%02x.%x Attempt to add PCI capability %x at offset %x overlaps "
                    "existing capability %x at offset %x",
                    unsigned(bus_num()), unsigned(slot()), unsigned(func()), cap_id, offset, found,
                    i);
      return generic_error(buf);
    }
  }
  uint8_t* c = config_.data() + offset;
  c[pci::kCapListId] = cap_id;
  c[pci::kCapListNext] = config_[pci::kCapabilityList];
  config_[pci::kCapabilityList] = offset;
  config_[pci::kStatus] |= pci::kStatusCapList;
  std::memset(used_.data() + offset, 0xff,
              std::min<unsigned>(align4(size), pci::kConfigSpaceSize - offset));
  std::memset(wmask_.data() + offset, 0, size);
  std::memset(w1cmask_.data() + offset, 0, size);
  return offset;
}

void PciDevice::del_capability(uint8_t cap_id, uint8_t size) {
  if (config_.empty() || !(get_word(pci::kStatus) & pci::kStatusCapList)) return;
  unsigned prev = pci::kCapabilityList;
  int guard = 0;
  for (uint8_t next = config_[prev]; next && guard < 64; ++guard) {
    if (config_[next + pci::kCapListId] == cap_id) {
      config_[prev] = config_[next + pci::kCapListNext];
      std::memset(wmask_.data() + next, 0xff, size);
      std::memset(w1cmask_.data() + next, 0, size);
      std::memset(used_.data() + next, 0,
                  std::min<unsigned>(align4(size), pci::kConfigSpaceSize - next));
      if (!config_[pci::kCapabilityList]) config_[pci::kStatus] &= uint8_t(~pci::kStatusCapList);
      return;
    }
    prev = next + pci::kCapListNext;
    next = config_[prev];
  }
}

uint16_t PciDevice::find_ext_capability(uint16_t cap_id) const {
  if (config_.size() <= pci::kExtCapStart) return 0;
  uint16_t off = pci::kExtCapStart;
  for (int guard = 0; off && guard < 512; ++guard) {
    uint32_t header = get_long(off);
    if (header == 0) return 0;
    if ((header & 0xffff) == cap_id) return off;
    off = uint16_t((header >> 20) & 0xffc);
  }
  return 0;
}

void PciDevice::add_ext_capability(uint16_t cap_id, uint8_t version, uint16_t offset,
                                   uint16_t size) {
  uint32_t header = cap_id | uint32_t(version & 0xf) << 16;
  if (offset != pci::kExtCapStart) {
    // Chain after the last capability of the list (which starts at 0x100).
    uint16_t last = pci::kExtCapStart;
    for (int guard = 0; guard < 512; ++guard) {
      uint16_t next = uint16_t((get_long(last) >> 20) & 0xffc);
      if (!next) break;
      last = next;
    }
    set_long(last, get_long(last) | uint32_t(offset) << 20);
  }
  set_long(offset, header);
  std::memset(wmask_.data() + offset, 0, size);
  std::memset(w1cmask_.data() + offset, 0, size);
  std::memset(used_.data() + offset, 0xff, size);
}

}  // namespace machina
