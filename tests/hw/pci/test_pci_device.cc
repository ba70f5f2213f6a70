// machina-test-pci: see test_pci_device.h.
#include "test_pci_device.h"

#include "hw/pci/msi.h"
#include "hw/pci/pcie.h"

namespace machina::test {

namespace {

MemoryRegionOps bar_ops(TestPciDevice* dev, int bar, uint64_t base,
                        std::vector<TestPciDevice::Access>* log) {
  MemoryRegionOps ops;
  ops.read = [base](uint64_t addr, unsigned) -> uint64_t { return base + addr; };
  ops.write = [bar, log](uint64_t addr, uint64_t v, unsigned size) {
    log->push_back({bar, addr, v, size});
  };
  (void)dev;
  return ops;
}

TypeRegistration test_pci_type{TypeInfo{
    .name = kTypeTestPci,
    .parent = kTypePciDevice,
    .interfaces = {kInterfacePcieDevice},
    .instance_new = [] { return new TestPciDevice(); },
    .class_init =
        [](ObjectClass& c) {
          auto& pc = static_cast<PciDeviceClass&>(c);
          pc.vendor_id = kTestPciVendor;
          pc.device_id = kTestPciDevice;
          pc.revision = 0x10;
          pc.class_id = kTestPciClass;
          pc.description = "machina: PCI test device";
        },
}};

TypeRegistration test_bridge_type{TypeInfo{
    .name = kTypeTestPciBridge,
    .parent = kTypePciDevice,
    .interfaces = {kInterfaceConventionalPciDevice},
    .instance_new = [] { return new TestPciBridge(); },
    .class_init =
        [](ObjectClass& c) {
          auto& pc = static_cast<PciDeviceClass&>(c);
          pc.vendor_id = 0x1b36;
          pc.device_id = 0x0001;
          pc.class_id = 0x0604;
          pc.is_bridge = true;
          pc.description = "machina: PCI-PCI bridge for tests";
        },
}};

}  // namespace

Status TestPciBridge::pci_realize() {
  set_byte(pci::kInterruptPin, 1);
  if (!child_buses().empty()) return Status::Ok();
  auto r = pci_bus_new(kTypePciBus, this, kTestBridgeBus, nullptr, nullptr);
  return r.ok() ? Status::Ok() : Status(r.error());
}

Status TestPciDevice::pci_realize() {
  io_.init_io(this, "test-pci-io", bar_ops(this, 0, 0xa0, &writes), 0x20);
  mmio_.init_io(this, "test-pci-mmio", bar_ops(this, 1, 0x1000, &writes), 0x1000);
  mmio64_.init_io(this, "test-pci-mmio64", bar_ops(this, 2, 0x2000, &writes), 0x4000);
  register_bar(0, pci::kBaseAddressSpaceIo, &io_);
  register_bar(1, pci::kBaseAddressMemType32, &mmio_);
  register_bar(2, pci::kBaseAddressMemType64 | pci::kBaseAddressMemPrefetch, &mmio64_);
  set_byte(pci::kInterruptPin, 1);  // INTA
  if (auto r = msi_init(*this, kTestMsiCap, 4, true, true); !r.ok()) return r.error();
  if (auto r = pcie_endpoint_cap_init(*this, kTestExpCap); !r.ok()) return r.error();
  pcie_cap_deverr_init(*this);
  add_ext_capability(kTestExtCapId, 1, kTestExtCap, 8);
  return Status::Ok();
}

}  // namespace machina::test
