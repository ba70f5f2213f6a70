// The PCI Express capability: see pcie.h.
#include "hw/pci/pcie.h"

#include "hw/pci/pci-device.h"

namespace machina {

Result<uint8_t> pcie_cap_init(PciDevice& dev, uint8_t offset, pci::PcieType type, uint8_t port) {
  if (!dev.is_express()) {
    return generic_error("PCIe capability on conventional PCI device '" + dev.type_name() + "'");
  }
  auto r = dev.add_capability(pci::kCapIdExp, offset, uint8_t(pci::kExpVer2Sizeof));
  if (!r.ok()) return r.error();
  uint8_t pos = r.value();
  dev.set_exp_cap(pos);
  dev.set_word(pos + pci::kExpFlags, uint16_t(uint16_t(type) << 4 | pci::kExpFlagsVer2));
  dev.set_long(pos + pci::kExpDevCap, pci::kExpDevCapRber);
  dev.set_long(pos + pci::kExpLnkCap, uint32_t(port) << pci::kExpLnkCapPortShift |
                                          pci::kExpLnkCapAspmL0s | pci::kExpLnkCapWidthX1 |
                                          pci::kExpLnkCapSpeed2_5);
  dev.set_word(pos + pci::kExpLnkSta, pci::kExpLnkStaWidthX1 | pci::kExpLnkStaSpeed2_5);
  dev.set_long(pos + pci::kExpDevCap2, pci::kExpDevCap2Eff | pci::kExpDevCap2Eetlpp);
  dev.set_wmask(pos + pci::kExpDevCtl2, pci::kExpDevCtl2Eetlppb, 2);
  // The extended capability list starts empty: a null header at 0x100, read-only.
  dev.set_wmask(pci::kExtCapStart, 0, 4);
  return pos;
}

Result<uint8_t> pcie_endpoint_cap_init(PciDevice& dev, uint8_t offset) {
  PciBus* bus = dev.pci_bus();
  pci::PcieType type = (bus && bus->is_express() && bus->is_root()) ? pci::PcieType::RcEndpoint
                                                                    : pci::PcieType::Endpoint;
  return pcie_cap_init(dev, offset, type, 0);
}

pci::PcieType pcie_cap_type(const PciDevice& dev) {
  if (!dev.exp_cap()) return pci::PcieType::Endpoint;
  return pci::PcieType((dev.get_word(dev.exp_cap() + pci::kExpFlags) >> 4) & 0xf);
}

void pcie_cap_deverr_init(PciDevice& dev) {
  uint8_t pos = dev.exp_cap();
  if (!pos) return;
  dev.set_wmask(
      pos + pci::kExpDevCtl,
      pci::kExpDevCtlCere | pci::kExpDevCtlNfere | pci::kExpDevCtlFere | pci::kExpDevCtlUrre, 2);
  dev.set_w1cmask(
      pos + pci::kExpDevSta,
      pci::kExpDevStaCed | pci::kExpDevStaNfed | pci::kExpDevStaFed | pci::kExpDevStaUrd, 2);
}

void pcie_cap_lnkctl_init(PciDevice& dev) {
  uint8_t pos = dev.exp_cap();
  if (!pos) return;
  dev.set_wmask(pos + pci::kExpLnkCtl, pci::kExpLnkCtlAspmc | pci::kExpLnkCtlEs, 2);
}

void pcie_cap_set_link_active(PciDevice& dev, bool active) {
  uint8_t pos = dev.exp_cap();
  if (!pos) return;
  uint16_t sta = dev.get_word(pos + pci::kExpLnkSta);
  sta = active ? uint16_t(sta | pci::kExpLnkStaDllla) : uint16_t(sta & ~pci::kExpLnkStaDllla);
  dev.set_word(pos + pci::kExpLnkSta, sta);
}

}  // namespace machina
