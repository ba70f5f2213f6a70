// The MSI capability: see msi.h.
#include "hw/pci/msi.h"

#include "hw/pci/pci-device.h"
#include "util/log.h"

namespace machina {

namespace {

uint16_t flags_of(const PciDevice& dev) {
  return dev.get_word(dev.msi_cap() + pci::kMsiFlags);
}
bool is64(uint16_t flags) {
  return flags & pci::kMsiFlags64Bit;
}
unsigned data_off(const PciDevice& dev, bool b64) {
  return dev.msi_cap() + (b64 ? 0xc : 0x8);
}
unsigned mask_off(const PciDevice& dev, bool b64) {
  return dev.msi_cap() + (b64 ? 0x10 : 0xc);
}
unsigned pending_off(const PciDevice& dev, bool b64) {
  return dev.msi_cap() + (b64 ? 0x14 : 0x10);
}
uint8_t cap_size(uint16_t flags) {
  uint8_t size = is64(flags) ? 0xe : 0xa;
  if (flags & pci::kMsiFlagsMaskBit) size += 0xa;
  return size;
}
unsigned nr_vectors(uint16_t flags) {
  return 1u << ((flags & pci::kMsiFlagsQsize) >> 4);
}
uint32_t vector_bits(unsigned n) {
  return n >= 32 ? 0xffffffffu : (1u << n) - 1;
}

}  // namespace

Result<uint8_t> msi_init(PciDevice& dev, uint8_t offset, unsigned nr, bool msi64bit,
                         bool per_vector_mask) {
  if (nr == 0 || nr > unsigned(pci::kMsiVectorsMax) || (nr & (nr - 1))) {
    return generic_error("MSI: invalid number of vectors " + std::to_string(nr));
  }
  unsigned order = unsigned(__builtin_ctz(nr));
  uint16_t flags = uint16_t(order << 1);
  if (msi64bit) flags |= pci::kMsiFlags64Bit;
  if (per_vector_mask) flags |= pci::kMsiFlagsMaskBit;
  auto r = dev.add_capability(pci::kCapIdMsi, offset, cap_size(flags));
  if (!r.ok()) return r.error();
  uint8_t cap = r.value();
  dev.set_msi_cap(cap);
  dev.set_word(cap + pci::kMsiFlags, flags);
  dev.set_wmask(cap + pci::kMsiFlags, pci::kMsiFlagsQsize | pci::kMsiFlagsEnable, 2);
  dev.set_wmask(cap + pci::kMsiAddressLo, pci::kMsiAddressLoMask, 4);
  if (msi64bit) dev.set_wmask(cap + pci::kMsiAddressHi, 0xffffffff, 4);
  dev.set_wmask(data_off(dev, msi64bit), 0xffff, 2);
  if (per_vector_mask) dev.set_wmask(mask_off(dev, msi64bit), vector_bits(nr), 4);
  return cap;
}

void msi_uninit(PciDevice& dev) {
  if (!msi_present(dev)) return;
  dev.del_capability(pci::kCapIdMsi, cap_size(flags_of(dev)));
  dev.set_msi_cap(0);
}

bool msi_present(const PciDevice& dev) {
  return dev.msi_cap() != 0;
}

bool msi_enabled(const PciDevice& dev) {
  return msi_present(dev) && (flags_of(dev) & pci::kMsiFlagsEnable);
}

unsigned msi_nr_vectors_allocated(const PciDevice& dev) {
  return msi_present(dev) ? nr_vectors(flags_of(dev)) : 0;
}

MsiMessage msi_get_message(const PciDevice& dev, unsigned vector) {
  uint16_t flags = flags_of(dev);
  bool b64 = is64(flags);
  MsiMessage m;
  unsigned lo = dev.msi_cap() + pci::kMsiAddressLo;
  m.address = b64 ? dev.get_quad(lo) : dev.get_long(lo);
  m.data = dev.get_word(data_off(dev, b64));
  unsigned n = nr_vectors(flags);
  if (n > 1) {
    m.data &= ~(n - 1);
    m.data |= vector & (n - 1);
  }
  return m;
}

bool msi_is_masked(const PciDevice& dev, unsigned vector) {
  uint16_t flags = flags_of(dev);
  if (!(flags & pci::kMsiFlagsMaskBit) || vector >= 32) return false;
  return dev.get_long(mask_off(dev, is64(flags))) & (1u << vector);
}

void msi_notify(PciDevice& dev, unsigned vector) {
  if (!msi_enabled(dev)) return;
  uint16_t flags = flags_of(dev);
  if (vector >= nr_vectors(flags)) {
    log_mask(LOG_GUEST_ERROR, dev.type_name() + ": MSI vector " + std::to_string(vector) +
                                  " beyond the " + std::to_string(nr_vectors(flags)) +
                                  " the guest enabled; dropped");
    return;
  }
  if (msi_is_masked(dev, vector)) {
    unsigned p = pending_off(dev, is64(flags));
    dev.set_long(p, dev.get_long(p) | 1u << vector);
    return;
  }
  MsiMessage m = msi_get_message(dev, vector);
  dev.send_msi_message(m.address, m.data);
}

void msi_reset(PciDevice& dev) {
  if (!msi_present(dev)) return;
  uint16_t flags = flags_of(dev);
  flags &= uint16_t(~(pci::kMsiFlagsQsize | pci::kMsiFlagsEnable));
  bool b64 = is64(flags);
  dev.set_word(dev.msi_cap() + pci::kMsiFlags, flags);
  dev.set_long(dev.msi_cap() + pci::kMsiAddressLo, 0);
  if (b64) dev.set_long(dev.msi_cap() + pci::kMsiAddressHi, 0);
  dev.set_word(data_off(dev, b64), 0);
  if (flags & pci::kMsiFlagsMaskBit) {
    dev.set_long(mask_off(dev, b64), 0);
    dev.set_long(pending_off(dev, b64), 0);
  }
}

void msi_write_config(PciDevice& dev, uint32_t addr, uint32_t /*val*/, unsigned len) {
  if (!msi_present(dev)) return;
  uint16_t flags = flags_of(dev);
  uint32_t cap = dev.msi_cap();
  if (!(addr < cap + cap_size(flags) && cap < addr + len)) return;
  if (!(flags & pci::kMsiFlagsEnable)) return;

  // MSI and INTx are mutually exclusive (PCI 3.0 6.8.3.3).
  dev.deassert_intx();

  // More vectors enabled than capable: not allowed; clamp (as QEMU).
  unsigned log_num = (flags & pci::kMsiFlagsQsize) >> 4;
  unsigned log_max = (flags & pci::kMsiFlagsQmask) >> 1;
  if (log_num > log_max) {
    flags = uint16_t((flags & ~pci::kMsiFlagsQsize) | log_max << 4);
    dev.set_word(cap + pci::kMsiFlags, flags);
  }
  if (!(flags & pci::kMsiFlagsMaskBit)) return;

  bool b64 = is64(flags);
  unsigned n = nr_vectors(flags);
  unsigned p = pending_off(dev, b64);
  uint32_t pending = dev.get_long(p) & vector_bits(n);
  dev.set_long(p, pending);
  for (unsigned v = 0; v < n; ++v) {
    if (!(pending & (1u << v)) || msi_is_masked(dev, v)) continue;
    dev.set_long(p, dev.get_long(p) & ~(1u << v));
    msi_notify(dev, v);
  }
}

}  // namespace machina
