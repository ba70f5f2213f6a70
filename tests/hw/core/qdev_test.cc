// Device creation, buses, hotplug refusals, ids, GPIO, reset, qtree.
#include "qdev_fixture.h"

namespace machina::test {
namespace {

TEST_F(QdevTest, AddPlacesDeviceInTreeAndPlugsIt) {
  auto d = add("test-fd-device", "dev0");
  ASSERT_TRUE(d.ok()) << d.message();
  Device* dev = d.value();
  EXPECT_EQ(dev->canonical_path(), "/machine/peripheral/dev0");
  EXPECT_EQ(dev->parent_bus(), bus);
  EXPECT_TRUE(dev->realized());
  EXPECT_TRUE(dev->hotplugged());
  EXPECT_EQ(controller.plugs, 1);
  EXPECT_EQ(dev->property_get("realized").value(), true);
  EXPECT_EQ(dev->property_get("parent_bus").value(), bus->canonical_path());
  EXPECT_EQ(dev->property_get("lifecycle").value(), "realized");
  EXPECT_EQ(qdev_find_device("dev0"), dev);
  EXPECT_EQ(qdev_find_device("/machine/peripheral/dev0"), dev);
}

TEST_F(QdevTest, AnonymousDevicesGoToPeripheralAnon) {
  auto d = add("test-fd-device", std::nullopt);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d.value()->canonical_path().starts_with("/machine/peripheral-anon/device["));
}

TEST_F(QdevTest, RealizeWithoutParentGoesToUnattached) {
  Ref<Object> o = std::move(object_new("test-fd-device").value());
  auto* d = static_cast<Device*>(o.get());
  ASSERT_TRUE(d->realize().ok());
  EXPECT_TRUE(d->canonical_path().starts_with("/machine/unattached/device["));
}

TEST_F(QdevTest, DriverErrors) {
  EXPECT_EQ(add("nonexistent", std::nullopt).message(),
            "'nonexistent' is not a valid device model name");
  EXPECT_EQ(add("container", std::nullopt).message(),
            "'container' is not a valid device model name");
  EXPECT_EQ(add("device", std::nullopt).message(),
            "Parameter 'driver' expects a non-abstract device type");
  EXPECT_EQ(add("test-internal-device", std::nullopt).message(),
            "Parameter 'driver' expects a pluggable device type");
}

TEST_F(QdevTest, IdErrors) {
  ASSERT_TRUE(add("test-fd-device", "same").ok());
  EXPECT_EQ(add("test-fd-device", "same").message(), "Duplicate device ID 'same'");
  EXPECT_EQ(add("test-fd-device", "9lives").message(), "Parameter 'id' expects an identifier");
  EXPECT_EQ(add("test-fd-device", "a b").message(), "Parameter 'id' expects an identifier");
}

TEST_F(QdevTest, PropertyErrorsLeaveNothingBehind) {
  auto d = add("test-fd-device", "p0", {{"fail-realize", "perhaps"}});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.message(), "Parameter 'fail-realize' expects 'on' or 'off'");
  auto u = add("test-fd-device", "p0", {{"colour", "red"}});
  EXPECT_EQ(u.message(), "Property 'test-fd-device.colour' not found");
  EXPECT_EQ(container_get("/machine/peripheral")->child("p0"), nullptr);
}

TEST_F(QdevTest, PropertiesFrozenAfterRealize) {
  auto d = add("test-fd-device", "frozen");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.value()->property_parse("file", "/tmp/x").message(),
            "Attempt to set property 'file' on device 'frozen' (type 'test-fd-device') after it "
            "was realized");
}

TEST_F(QdevTest, BusSelectionAndErrors) {
  auto br = add("test-bridge", "br1");
  ASSERT_TRUE(br.ok());
  Bus* child_bus = br.value()->child_buses()[0];
  EXPECT_EQ(child_bus->canonical_path(), "/machine/peripheral/br1/br1.0");
  auto d = add("test-fd-device", "on-br", {}, "br1.0");
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d.value()->parent_bus(), child_bus);
  auto by_dev = add("test-fd-device", "on-br2", {}, "br1");  // a device with one bus
  ASSERT_TRUE(by_dev.ok()) << by_dev.message();
  EXPECT_EQ(by_dev.value()->parent_bus(), child_bus);
  auto by_path = add("test-fd-device", "on-br3", {}, "/machine/peripheral/br1/br1.0");
  ASSERT_TRUE(by_path.ok()) << by_path.message();
  EXPECT_EQ(add("test-fd-device", "x", {}, "nowhere").message(), "Bus 'nowhere' not found");
  EXPECT_EQ(add("test-fd-device", "y", {}, "on-br").message(), "Device 'on-br' has no child bus");
}

TEST_F(QdevTest, WrongBusTypeAndFullBus) {
  auto nb = qbus_new("test-one-slot-bus", nullptr, "slot.0");
  ASSERT_TRUE(nb.ok());
  nb.value()->set_hotplug_handler(&controller);
  ASSERT_TRUE(add("test-fd-device", "s1", {}, "slot.0").ok());
  EXPECT_EQ(add("test-fd-device", "s2", {}, "slot.0").message(), "Bus 'slot.0' is full");
}

TEST_F(QdevTest, HotplugRefusals) {
  auto nb = qbus_new("test-bus", nullptr, "cold.0");  // no hotplug handler
  ASSERT_TRUE(nb.ok());
  EXPECT_EQ(add("test-fd-device", "h1", {}, "cold.0").message(),
            "Bus 'cold.0' does not support hotplugging");
  EXPECT_EQ(add("test-fixed-device", "h2").message(),
            "Device 'test-fixed-device' does not support hotplugging");
  // Cold-plugged before the machine runs, then refused on removal.
  qdev_set_machine_running(false);
  auto cold = add("test-fd-device", "c1", {}, "cold.0");
  ASSERT_TRUE(cold.ok()) << cold.message();
  auto fixed = add("test-fixed-device", "f1");
  ASSERT_TRUE(fixed.ok()) << fixed.message();
  qdev_set_machine_running(true);
  EXPECT_EQ(qdev_device_del("c1", 0).message(), "Bus 'cold.0' does not support hotplugging");
  EXPECT_EQ(qdev_device_del("f1", 0).message(),
            "Device 'test-fixed-device' does not support hotplugging");
  EXPECT_TRUE(sink.deleted.empty());
  EXPECT_EQ(qdev_device_del("/machine/unattached", 0).message(),
            "/machine/unattached is not a hotpluggable device");
}

TEST_F(QdevTest, UnplugUnrealizesChildBusesFirst) {
  auto br = add("test-bridge", "br2");
  ASSERT_TRUE(br.ok());
  auto d = add("test-fd-device", "leaf", {}, "br2.0");
  ASSERT_TRUE(d.ok());
  Ref<Device> leaf(d.value());
  ASSERT_TRUE(qdev_device_del("br2", 0).ok());
  EXPECT_FALSE(leaf->realized());
  EXPECT_EQ(leaf->parent_bus(), nullptr);
  EXPECT_EQ(container_get("/machine/peripheral")->child("leaf"), nullptr);
  leaf.reset();
  ASSERT_EQ(sink.deleted.size(), 2u);
  EXPECT_EQ(sink.deleted[0].id, "br2");  // leaf was still referenced here
  EXPECT_EQ(sink.deleted[1].id, "leaf");
}

TEST_F(QdevTest, GpioLinesConnectAndReportLevels) {
  auto a = add("test-fd-device", "ga");
  auto b = add("test-fd-device", "gb");
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<std::pair<int, int>> seen;
  b.value()->init_gpio_in("", 4, [&](int n, int level) { seen.push_back({n, level}); });
  a.value()->init_gpio_out("irq", 2);
  a.value()->connect_gpio_out("irq", 1, b.value()->gpio_in("", 3));
  a.value()->set_gpio_out("irq", 1, 1);
  a.value()->set_gpio_out("irq", 0, 1);  // unconnected: nothing happens
  a.value()->set_gpio_out("irq", 1, 0);
  EXPECT_EQ(seen, (std::vector<std::pair<int, int>>{{3, 1}, {3, 0}}));
  EXPECT_EQ(b.value()->gpio_in_count(""), 4);
  EXPECT_EQ(b.value()->gpio_in("", 4), nullptr);
  // Interception (as qtest does) replaces the handler; the level is still tracked.
  IrqLine* line = b.value()->gpio_in("", 3);
  std::vector<int> intercepted;
  line->intercept([&](int, int level) { intercepted.push_back(level); });
  a.value()->set_gpio_out("irq", 1, 1);
  EXPECT_EQ(intercepted, std::vector<int>{1});
  EXPECT_EQ(line->level(), 1);
  EXPECT_EQ(seen.size(), 2u);
}

TEST_F(QdevTest, ColdResetWalksChildrenBeforeParents) {
  std::vector<std::string> log;
  auto br = add("test-bridge", "rb");
  auto leaf = add("test-fd-device", "rleaf", {}, "rb.0");
  auto other = add("test-fd-device", "rother");
  ASSERT_TRUE(br.ok() && leaf.ok() && other.ok());
  for (auto* d : {br.value(), leaf.value(), other.value()}) {
    static_cast<FdDevice*>(d)->reset_log = &log;
  }
  qdev_reset_all(*bus);
  EXPECT_EQ(log, (std::vector<std::string>{"rleaf", "rb", "rother"}));
}

TEST_F(QdevTest, QtreeText) {
  auto br = add("test-bridge", "qb");
  ASSERT_TRUE(br.ok());
  ASSERT_TRUE(add("test-fd-device", "ql", {{"file", ""}}, "qb.0").ok());
  std::string t = qdev_qtree_text(*bus);
  EXPECT_NE(t.find("bus: tbus.0\n  type test-bus\n  dev: test-bridge, id \"qb\"\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("    bus: qb.0\n      type test-bus\n      dev: test-fd-device, id \"ql\"\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("fail-realize = false"), std::string::npos) << t;
}

}  // namespace
}  // namespace machina::test
