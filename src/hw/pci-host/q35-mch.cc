// mch: the Q35 host bridge function 00.0. See q35.h.
#include "hw/pci-host/q35.h"
#include "util/log.h"

namespace machina {

namespace {

bool ranges_overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen) {
  return a < b + blen && b < a + alen;
}

TypeRegistration mch_type{TypeInfo{
    .name = kTypeMch,
    .parent = kTypePciDevice,
    .interfaces = {kInterfaceConventionalPciDevice},
    .instance_new = [] { return new Mch(); },
    .class_init =
        [](ObjectClass& c) {
          auto& pc = static_cast<PciDeviceClass&>(c);
          pc.user_creatable = false;
          pc.hotpluggable = false;
          pc.description = "Host bridge";
          pc.category = "Bridge devices";
          pc.vendor_id = 0x8086;
          pc.device_id = 0x29c0;
          pc.revision = 0;
          pc.class_id = 0x0600;
        },
}};

}  // namespace

Q35PciHost* Mch::host() const {
  PciBus* bus = pci_bus();
  return bus ? dynamic_cast<Q35PciHost*>(bus->parent_device()) : nullptr;
}

Status Mch::pci_realize() {
  pci_reset();
  return Status::Ok();
}

void Mch::pci_reset() {
  set_quad(mch::kPciexbar, kMchPciexbarDefault);
  set_byte(mch::kSmram, mch::kSmramDefault);
  set_byte(mch::kEsmramc, mch::kEsmramcDefault);
  wmask()[mch::kSmram] = mch::kSmramDOpen | mch::kSmramDCls | mch::kSmramDLck | mch::kSmramGSmrame;
  wmask()[mch::kEsmramc] = mch::kEsmramcWmask;
  for (unsigned i = 0; i < mch::kPamCount; ++i) set_byte(mch::kPam0 + i, 0);
  update_pciexbar();
  update_smram();
}

void Mch::config_write(uint32_t addr, uint32_t val, unsigned len) {
  default_config_write(addr, val, len);
  if (ranges_overlap(addr, len, mch::kPciexbar, 8)) update_pciexbar();
  if (ranges_overlap(addr, len, mch::kSmram, 2)) update_smram();
}

void Mch::update_pciexbar() {
  Q35PciHost* h = host();
  if (!h) return;
  uint64_t bar = get_quad(mch::kPciexbar);
  uint64_t mask = 0xf0000000ull;  // base bits 35:28
  mask |= 0xf00000000ull;
  uint64_t length = 0;
  switch (bar & mch::kPciexbarLengthMask) {
    case 0x0:
      length = 256ull << 20;
      break;
    case 0x2:
      length = 128ull << 20;
      mask |= 1ull << 27;
      break;
    case 0x4:
      length = 64ull << 20;
      mask |= 3ull << 26;
      break;
    default:
      log_mask(LOG_GUEST_ERROR, "Q35: Reserved PCIEXBAR LENGTH");
      return;
  }
  h->mmcfg_update(bar & mch::kPciexbarEnable, bar & mask, length);
}

void Mch::update_smram() {
  // D_LCK: D_OPEN clears and stays clear; only D_CLS remains writable, ESMRAMC is frozen.
  if (get_byte(mch::kSmram) & mch::kSmramDLck) {
    set_byte(mch::kSmram, get_byte(mch::kSmram) & uint8_t(~mch::kSmramDOpen));
    wmask()[mch::kSmram] = mch::kSmramDCls;
    wmask()[mch::kEsmramc] = 0;
  }
}

}  // namespace machina
