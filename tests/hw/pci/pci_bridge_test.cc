// Buses behind a PCI-PCI bridge, as the core supports them for the bridges and PCIe ports to
// come: config cycles routed by the bridge's bus numbers, INTx swizzled onto the bridge's pins,
// BARs in the windows of the bus above.
#include "pci_fixture.h"

namespace machina::test {
namespace {

constexpr int kBridge = pci_devfn(5, 0);

class PciBridgeTest : public PciTest {
 protected:
  void SetUp() override {
    PciTest::SetUp();
    auto b = add_test_device("5.0", "br", kTypeTestPciBridge);
    ASSERT_TRUE(b.ok()) << b.message();
    bridge = static_cast<PciDevice*>(b.value());
    DeviceOptions o;
    o.driver = kTypeTestPci;
    o.bus = kTestBridgeBus;
    o.props = {{"addr", json("0.0")}};
    auto d0 = qdev_device_add(o);
    ASSERT_TRUE(d0.ok()) << d0.message();
    dev0 = static_cast<TestPciDevice*>(d0.value());
    o.props = {{"addr", json("1.0")}};
    auto d1 = qdev_device_add(o);
    ASSERT_TRUE(d1.ok()) << d1.message();
    dev1 = static_cast<TestPciDevice*>(d1.value());
  }
  // As firmware or Linux numbers the bus: primary 0, secondary 1, subordinate 1.
  void number_bus() { cf8_write(kBridge, pci::kPrimaryBus, 0x010100, 4); }
  PciDevice* bridge = nullptr;
  TestPciDevice* dev0 = nullptr;
  TestPciDevice* dev1 = nullptr;
};

TEST_F(PciBridgeTest, TypeOneHeader) {
  EXPECT_EQ(cf8_read(kBridge, pci::kVendorId, 4), 0x00011b36u);
  EXPECT_EQ(cf8_read(kBridge, pci::kClassDevice, 2), 0x0604u);
  EXPECT_EQ(cf8_read(kBridge, pci::kHeaderType, 1), 0x01u);
  cf8_write(kBridge, pci::kPrimaryBus, 0xffffffff, 4);
  EXPECT_EQ(cf8_read(kBridge, pci::kPrimaryBus, 4), 0xffffffffu);
  cf8_write(kBridge, 0x20, 0xffffffff, 4);  // memory base / limit: 1 MiB granularity
  EXPECT_EQ(cf8_read(kBridge, 0x20, 4), 0xfff0fff0u);
  EXPECT_EQ(cf8_read(kBridge, 0x24, 4) & 0x000f000f, 0x00010001u);  // 64-bit prefetchable
}

TEST_F(PciBridgeTest, ConfigCyclesFollowTheBusNumbers) {
  // Not numbered yet: bus 1 does not answer.
  EXPECT_EQ(cf8_read(0, pci::kVendorId, 2, 1), 0xffffu);
  number_bus();
  EXPECT_EQ(bus->find_bus(1), bridge->child_buses().front());
  EXPECT_EQ(cf8_read(pci_devfn(0, 0), pci::kVendorId, 2, 1), kTestPciVendor);
  EXPECT_EQ(cf8_read(pci_devfn(1, 0), pci::kDeviceId, 2, 1), kTestPciDevice);
  EXPECT_EQ(cf8_read(pci_devfn(2, 0), pci::kVendorId, 2, 1), 0xffffu);
  EXPECT_EQ(cf8_read(0, pci::kVendorId, 2, 2), 0xffffu);  // beyond the subordinate bus
  cf8_write(pci_devfn(1, 0), 0x40, 0xcafe, 2, 1);
  EXPECT_EQ(dev1->get_word(0x40), 0xcafe);
  EXPECT_EQ(dev1->bus_num(), 1);
  // ECAM reaches it too (conventional bus: 256 bytes).
  enable_ecam();
  EXPECT_EQ(ecam_read(pci_devfn(1, 0), 0x40, 2, 1), 0xcafeu);
  EXPECT_EQ(ecam_read(pci_devfn(1, 0), 0x100, 4, 1), 0xffffffffu);
  // Renumbered: bus 1 is gone, bus 4 answers.
  cf8_write(kBridge, pci::kSecondaryBus, 4, 1);
  cf8_write(kBridge, pci::kSubordinateBus, 4, 1);
  EXPECT_EQ(cf8_read(pci_devfn(0, 0), pci::kVendorId, 2, 1), 0xffffu);
  EXPECT_EQ(cf8_read(pci_devfn(0, 0), pci::kVendorId, 2, 4), kTestPciVendor);
}

TEST_F(PciBridgeTest, IntxIsSwizzledOntoTheBridgePins) {
  // Slot 0 INTA -> bridge INTA: slot 5 on pcie.0 -> PIRQF (GSI 21).
  dev0->set_irq(1);
  EXPECT_EQ(gsi[21], 1);
  // Slot 1 INTA -> bridge INTB -> PIRQG (GSI 22).
  dev1->set_irq(1);
  EXPECT_EQ(gsi[22], 1);
  dev0->set_irq(0);
  EXPECT_EQ(gsi[21], 0);
  EXPECT_EQ(gsi[22], 1);
  dev1->set_irq(0);
  EXPECT_EQ(gsi[22], 0);
}

TEST_F(PciBridgeTest, BarsBehindTheBridgeMapIntoTheRootWindows) {
  number_bus();
  cf8_write(pci_devfn(0, 0), pci::kBaseAddress0 + 4, 0xfe800000, 4, 1);
  cf8_write(pci_devfn(0, 0), pci::kCommand, pci::kCommandMemory, 2, 1);
  EXPECT_EQ(dev0->region(1).space, host->pci_memory());
  EXPECT_EQ(mem_read(0xfe800000, 4), 0x1000u);
}

TEST_F(PciBridgeTest, RemovingTheBridgeRemovesItsBus) {
  number_bus();
  bridge->unparent();
  EXPECT_EQ(qdev_find_device("br"), nullptr);
  EXPECT_EQ(cf8_read(kBridge, pci::kVendorId, 2), 0xffffu);
  EXPECT_EQ(cf8_read(0, pci::kVendorId, 2, 1), 0xffffu);
}

}  // namespace
}  // namespace machina::test
