// PCI functions as qdev devices: the addr and multifunction properties, slot allocation and
// QEMU's errors, the QOM layout, and what info pci / query-pci / info qtree show.
#include "hw/pci/pci-info.h"
#include "pci_fixture.h"

namespace machina::test {
namespace {

TEST_F(PciTest, QomLayoutAsQemus) {
  EXPECT_EQ(object_resolve_path("/machine/q35"), host);
  EXPECT_NE(object_resolve_path("/machine/q35/mch"), nullptr);
  EXPECT_EQ(object_resolve_path("/machine/q35/pcie.0"), bus);
  EXPECT_EQ(bus->name(), "pcie.0");
  EXPECT_TRUE(bus->is_a(kTypePcieBus));
  EXPECT_TRUE(bus->is_a(kTypePciBus));
  EXPECT_TRUE(bus->is_root());
  EXPECT_TRUE(bus->allows_extended_config());
  EXPECT_EQ(bus->device(0), host->mch());
  EXPECT_EQ(bus->device(pci_devfn(31, 0)), lpc);
  EXPECT_TRUE(lpc->multifunction());
}

TEST_F(PciTest, AddrPropertyTakesSlotDotFunction) {
  auto r = add_test_device("1f.3", "a");
  ASSERT_TRUE(r.ok()) << r.message();
  auto* d = static_cast<PciDevice*>(r.value());
  EXPECT_EQ(d->devfn(), pci_devfn(0x1f, 3));
  auto v = d->property_get("addr");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value().get<int>(), 0xfb);
  r = add_test_device("4", "b");  // slot only: function 0
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(static_cast<PciDevice*>(r.value())->devfn(), pci_devfn(4, 0));
  r = add_test_device("0x6.0", "c");  // as sscanf's %x, a 0x prefix is fine
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(static_cast<PciDevice*>(r.value())->devfn(), pci_devfn(6, 0));
  EXPECT_EQ(cf8_read(pci_devfn(6, 0), pci::kVendorId, 2), kTestPciVendor);
}

TEST_F(PciTest, AddrPropertyRejectsBadValues) {
  for (const char* bad : {"20.0", "1.8", "x", "3.", "3.0.1", ""}) {
    auto r = add_test_device(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.message(),
              "Property 'machina-test-pci.addr' doesn't take value '" + std::string(bad) + "'");
  }
  // From QMP as an integer devfn.
  auto obj = object_new(kTypeTestPci);
  ASSERT_TRUE(obj.ok());
  Object& o = *obj.value();
  EXPECT_TRUE(o.property_set("addr", json(0x18)).ok());
  EXPECT_EQ(o.property_get("addr").value().get<int>(), 0x18);
  Status s = o.property_set("addr", json(256));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "Parameter 'addr' expects a value between -1 and 255");
}

TEST_F(PciTest, AutomaticAddressIsTheFirstFreeSlot) {
  auto r = add_test_device(std::nullopt);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(static_cast<PciDevice*>(r.value())->devfn(), pci_devfn(1, 0));
  r = add_test_device(std::nullopt);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(static_cast<PciDevice*>(r.value())->devfn(), pci_devfn(2, 0));
  bus->set_slot_reserved_mask(1u << 3);
  r = add_test_device(std::nullopt);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(static_cast<PciDevice*>(r.value())->devfn(), pci_devfn(4, 0));
  r = add_test_device("3.0");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "PCI: slot 3 function 0 not available for machina-test-pci, reserved");
  bus->set_slot_reserved_mask(0);
}

TEST_F(PciTest, SlotInUseError) {
  ASSERT_TRUE(add_test_device("5.0", "first").ok());
  auto r = add_test_device("5.0", "second");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            "PCI: slot 5 function 0 not available for machina-test-pci, in use by "
            "machina-test-pci,id=first");
  r = add_test_device("1f.0");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            "PCI: slot 31 function 0 not available for machina-test-pci, in use by "
            "ICH9-LPC,id=(null)");
  // The failed device left nothing behind: the id is free again, the slot still the first's.
  EXPECT_EQ(qdev_find_device("second"), nullptr);
  EXPECT_TRUE(add_test_device("6.0", "second").ok());
}

TEST_F(PciTest, MultifunctionRules) {
  // Function 0 single-function: no other function may join it.
  ASSERT_TRUE(add_test_device("4.0").ok());
  auto r = add_test_device("4.1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "PCI: single function device can't be populated in function 4.1");
  // A function > 0 first, then a single-function function 0.
  ASSERT_TRUE(add_test_device("5.1").ok());
  r = add_test_device("5.0");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "PCI: 5.0 indicates single function, but 5.1 is already populated.");
  // With multifunction=on it works, and the header says so.
  r = add_test_device("5.0", std::nullopt, kTypeTestPci, {{"multifunction", json("on")}});
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(cf8_read(pci_devfn(5, 0), pci::kHeaderType, 1), 0x80u);
  EXPECT_EQ(cf8_read(pci_devfn(5, 1), pci::kHeaderType, 1), 0x00u);
  ASSERT_TRUE(add_test_device("5.2").ok());
  // The LPC's slot is multifunction: 1f.2 may be added.
  EXPECT_TRUE(add_test_device("1f.2").ok());
}

TEST_F(PciTest, HotplugOfAFunctionBehindAnOccupiedFunctionZero) {
  ASSERT_TRUE(
      add_test_device("6.0", std::nullopt, kTypeTestPci, {{"multifunction", json("on")}}).ok());
  // pcie.0 has no hotplug controller: QEMU's refusal.
  DeviceOptions o;
  o.driver = kTypeTestPci;
  o.bus = "pcie.0";
  o.props = {{"addr", json("6.1")}};
  qdev_set_machine_running(true);
  auto r = qdev_device_add(o);
  qdev_set_machine_running(false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "Bus 'pcie.0' does not support hotplugging");
  // The PCI core's own rule, reached when a bus allows hotplug.
  auto obj = object_new(kTypeTestPci);
  ASSERT_TRUE(obj.ok());
  auto* dev = static_cast<PciDevice*>(obj.value().get());
  ASSERT_TRUE(dev->property_parse("addr", "6.1").ok());
  dev->set_hotplugged(true);
  dev->attach_to_bus(bus);
  Status s = dev->realize();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "PCI: slot 6 function 0 already occupied by machina-test-pci, new func "
            "machina-test-pci cannot be exposed to guest.");
  dev->unparent();
}

TEST_F(PciTest, OnlyPciDevicesGoOnAPciBus) {
  DeviceOptions o;
  o.driver = "isa-debugcon";
  o.bus = "pcie.0";
  auto r = qdev_device_add(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "Device 'isa-debugcon' can't go on PCIE bus");
  // The MCH and the LPC are wired by the board, not created by users.
  o.driver = "mch";
  o.bus.reset();
  r = qdev_device_add(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "Parameter 'driver' expects a pluggable device type");
  o.driver = "pci-device";
  r = qdev_device_add(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "Parameter 'driver' expects a non-abstract device type");
}

TEST_F(PciTest, InfoPciText) {
  auto r = add_test_device("3.0", "nic0");
  ASSERT_TRUE(r.ok()) << r.message();
  int d = pci_devfn(3, 0);
  cf8_write(d, pci::kBaseAddress0, 0xc000, 4);
  cf8_write(d, pci::kBaseAddress0 + 4, 0xfebf1000, 4);
  cf8_write(d, pci::kBaseAddress0 + 8, 0xfe000000, 4);
  cf8_write(d, pci::kCommand, pci::kCommandIo | pci::kCommandMemory, 2);
  cf8_write(d, pci::kInterruptLine, 11, 1);
  std::string text = pci_info_text();
  EXPECT_NE(text.find("  Bus  0, device   0, function 0:\n"
                      "    Host bridge: PCI device 8086:29c0\n"
                      "      PCI subsystem 1af4:1100\n"
                      "      id \"\"\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  Bus  0, device   3, function 0:\n"
                      "    Ethernet controller: PCI device 1234:11e8\n"
                      "      PCI subsystem 1af4:1100\n"
                      "      IRQ 11, pin A\n"
                      "      BAR0: I/O at 0xc000 [0xc01f]\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("      BAR1: 32 bit memory at 0xfebf1000 [0xfebf1fff]\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("      BAR2: 64 bit prefetchable memory at 0xfe000000 [0xfe003fff]\n"
                      "      id \"nic0\"\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  Bus  0, device  31, function 0:\n"
                      "    ISA bridge: PCI device 8086:2918\n"),
            std::string::npos)
      << text;
  // Devices in devfn order: 00.0, 03.0, 1f.0.
  EXPECT_LT(text.find("device   0"), text.find("device   3"));
  EXPECT_LT(text.find("device   3"), text.find("device  31"));
  cf8_write(d, pci::kCommand, 0, 2);
  EXPECT_NE(pci_info_text().find("      BAR1: 32 bit memory (not mapped)\n"), std::string::npos);
}

TEST_F(PciTest, QueryPciJson) {
  ASSERT_TRUE(add_test_device("3.0", "nic0").ok());
  json q = pci_query_json();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0]["bus"], 0);
  const json& devs = q[0]["devices"];
  ASSERT_EQ(devs.size(), 3u);
  EXPECT_EQ(devs[0]["id"]["vendor"], 0x8086);
  EXPECT_EQ(devs[0]["id"]["device"], 0x29c0);
  EXPECT_EQ(devs[0]["class_info"]["desc"], "Host bridge");
  EXPECT_EQ(devs[0]["class_info"]["class"], 0x0600);
  EXPECT_EQ(devs[1]["slot"], 3);
  EXPECT_EQ(devs[1]["qdev_id"], "nic0");
  EXPECT_EQ(devs[1]["irq_pin"], 1);
  ASSERT_EQ(devs[1]["regions"].size(), 3u);
  EXPECT_EQ(devs[1]["regions"][0]["type"], "io");
  EXPECT_EQ(devs[1]["regions"][0]["size"], 32);
  EXPECT_EQ(devs[1]["regions"][2]["mem_type_64"], true);
  EXPECT_EQ(devs[1]["regions"][2]["prefetch"], true);
  EXPECT_EQ(devs[2]["slot"], 31);
  EXPECT_EQ(devs[2]["id"]["subsystem-vendor"], 0x1af4);
}

TEST_F(PciTest, QtreeShowsThePciAddress) {
  std::string addr = bus->device_address(*lpc);
  EXPECT_EQ(addr, "class ISA bridge, addr 00:1f.0, pci id 8086:2918 (sub 1af4:1100)");
  std::string tree = qdev_qtree_text(*bus);
  EXPECT_NE(tree.find("dev: mch, id \"\""), std::string::npos) << tree;
  EXPECT_NE(tree.find("class Host bridge, addr 00:00.0, pci id 8086:29c0 (sub 1af4:1100)"),
            std::string::npos)
      << tree;
}

}  // namespace
}  // namespace machina::test
