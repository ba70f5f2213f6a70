// pcie-root-port: see pcie-root-port.h.
#include "hw/pci-bridge/pcie-root-port.h"

#include "hw/pci/msix.h"
#include "hw/pci/pcie.h"
#include "qom/property-types.h"

namespace machina {

namespace {

constexpr unsigned kMsixVectors = 1;
constexpr uint8_t kMsixBarNr = 0;

TypeRegistration root_port_base_type{TypeInfo{
    .name = kTypePcieRootPortBase,
    .parent = kTypePcieSlot,
    .abstract = true,
    .class_new = class_from_parent<PciDeviceClass, PciDeviceClass>(),
}};

TypeRegistration root_port_type{TypeInfo{
    .name = kTypePcieRootPort,
    .parent = kTypePcieRootPortBase,
    .instance_new = [] { return new PcieRootPort(); },
    .class_new = class_from_parent<PciDeviceClass, PciDeviceClass>(),
    .class_init = PcieRootPort::class_init,
}};

// Names for secondary buses of ports without an id ("pcie.1", "pcie.2", ...).
int anonymous_bus_count = 0;

}  // namespace

void PcieRootPort::class_init(ObjectClass& oc) {
  auto& pc = static_cast<PciDeviceClass&>(oc);
  pc.vendor_id = kPciVendorIdRedhat;
  pc.device_id = kPciDeviceIdRedhatPcieRootPort;
  pc.revision = 0;
  pc.class_id = 0x0604;  // PCI-PCI bridge
  pc.is_bridge = true;
  pc.description = "PCI Express Root Port";
  pc.category = "Bridge devices";
  pc.hotpluggable = false;  // a root port sits on the root complex from start-up
  pc.add_property(prop::integer<PcieRootPort, uint64_t>("bus-reserve", &PcieRootPort::bus_reserve_,
                                                        UINT32_MAX));
  pc.add_property(prop::size<PcieRootPort>("io-reserve", &PcieRootPort::io_reserve_, UINT64_MAX));
  pc.add_property(prop::size<PcieRootPort>("mem-reserve", &PcieRootPort::mem_reserve_, UINT64_MAX));
  pc.add_property(
      prop::size<PcieRootPort>("pref32-reserve", &PcieRootPort::pref32_reserve_, UINT64_MAX));
  pc.add_property(
      prop::size<PcieRootPort>("pref64-reserve", &PcieRootPort::pref64_reserve_, UINT64_MAX));
}

Status PcieRootPort::pci_realize() {
  set_byte(pci::kInterruptPin, 1);  // INTA
  // Bridge subsystem vendor/device ID capability: 0000:0000, as QEMU's.
  if (auto r = add_capability(pci::kCapIdSsvid, kPcieRootPortSsvidCap, 8); !r.ok()) {
    return r.error();
  }
  msix_bar_.init_container(this, "pcie-root-port-msix", msix_exclusive_bar_size(kMsixVectors));
  if (auto r = msix_init(*this, kMsixVectors, &msix_bar_, kMsixBarNr, 0, &msix_bar_, kMsixBarNr,
                         msix_exclusive_bar_pba_offset(kMsixVectors), kPcieRootPortMsixCap);
      !r.ok()) {
    return r.error();
  }
  register_bar(kMsixBarNr, pci::kBaseAddressMemType32, &msix_bar_);
  if (auto r = pcie_cap_init(*this, kPcieRootPortExpCap, pci::PcieType::RootPort, port); !r.ok()) {
    msix_uninit(*this);
    return r.error();
  }
  pcie_cap_deverr_init(*this);
  pcie_cap_lnkctl_init(*this);
  PciBus* bus = sec_bus();
  if (!bus) {
    std::string name = id() ? *id() : std::string("pcie.") + std::to_string(++anonymous_bus_count);
    auto r = pci_bus_new(kTypePcieBus, this, name, nullptr, nullptr);
    if (!r.ok()) {
      msix_uninit(*this);
      return r.error();
    }
    bus = r.value();
    bus->set_single_slot(true);
  }
  if (Status s = slot_init(*bus); !s.ok()) {
    msix_uninit(*this);
    return s;
  }
  return Status::Ok();
}

void PcieRootPort::pci_unrealize() {
  slot_uninit();
  msix_uninit(*this);
}

void PcieRootPort::pci_reset() {
  slot_reset();
}

void PcieRootPort::config_write(uint32_t addr, uint32_t val, unsigned len) {
  uint16_t old_bctl = get_word(pci::kBridgeControl);
  PcieSlot::config_write(addr, val, len);
  uint16_t bctl = get_word(pci::kBridgeControl);
  if ((bctl & ~old_bctl) & pci::kBridgeCtlBusReset) {
    // Secondary bus reset asserted: everything below goes back to its reset state.
    if (PciBus* bus = sec_bus()) qdev_reset_all(*bus);
  }
}

}  // namespace machina
