// pcie-root-port and native PCI Express hot-plug, driven through qtest the way Linux's pciehp
// driver drives a slot: capabilities, slot registers, presence/link state, the attention-button
// handshake for device_del, command completion, MSI-X and INTx notification, and QEMU's errors.
#include <gtest/gtest.h>

#include "qtest/hw_pc_qtest.h"
#include "qtest/pcie_slot_driver.h"

namespace machina::qtest {
namespace {

constexpr int kPort1 = 2 << 3;  // rp1 at 00:02.0, secondary bus 1
constexpr int kPort2 = 3 << 3;  // rp2 at 00:03.0, secondary bus 2
using namespace pcie_slot;
constexpr uint8_t kExp = kExpCap;
constexpr uint8_t kMsix = kMsixCap;
constexpr uint64_t kMsiAddr = 0x3000;  // MSI-X messages land in guest RAM

// Native hot-plug: q35's default is ACPI PCI hot-plug (acpi_pcihp_test.cc).
const char* kPorts =
    "-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off "
    "-device pcie-root-port,id=rp1,chassis=1,slot=1,addr=2 "
    "-device pcie-root-port,id=rp2,chassis=1,slot=2,addr=3 ";

class PcieRootPortTest : public PcQtest {
 protected:
};

TEST_F(PcieRootPortTest, ConfigSpaceLayout) {
  start(kPorts);
  PcieSlotDriver slot(m(), kPort1, 1);
  PciFunction& rp = slot.port();
  EXPECT_EQ(rp.read(0x00, 4), 0x000c1b36u);
  EXPECT_EQ(rp.read(0x0a, 2), 0x0604u);
  EXPECT_EQ(rp.read(0x0e, 1) & 0x7f, 0x01u);
  EXPECT_EQ(rp.read(0x3d, 1), 1u);  // INTA
  EXPECT_EQ(rp.capabilities(0x0d), std::vector<uint8_t>{0x40});
  EXPECT_EQ(rp.capabilities(0x11), std::vector<uint8_t>{kMsix});
  EXPECT_EQ(rp.capabilities(0x10), std::vector<uint8_t>{kExp});
  EXPECT_EQ(rp.bar_size(0), 4096u);
  uint16_t flags = uint16_t(rp.read(kExp + 2, 2));
  EXPECT_EQ((flags >> 4) & 0xf, 4u);  // root port
  EXPECT_TRUE(flags & 0x100);         // slot implemented
  uint32_t sltcap = rp.read(kSltCap, 4);
  EXPECT_EQ(sltcap >> 19, 1u);                    // physical slot number
  EXPECT_EQ(sltcap & 0x7f, 0x7bu);                // ABP PCP AIP PIP HPS HPC (no MRL sensor)
  EXPECT_TRUE(sltcap & 0x20000);                  // electromechanical interlock
  EXPECT_TRUE(rp.read(kLnkCap, 4) & (1u << 20));  // link-active reporting
  // Empty slot: powered off, indicators off, nothing present.
  EXPECT_EQ(rp.read(kSltCtl, 2) & (kPcc | 0x3c0), unsigned(kPcc | kPwrIndOff | kAttnIndOff));
  EXPECT_EQ(rp.read(kSltSta, 2) & kPds, 0u);
  EXPECT_EQ(rp.read(kLnkSta, 2) & kDllla, 0u);
  // Bus numbers are writable; nothing answers on an empty bus.
  rp.write(0x18, 0x010100, 4);  // numbered again
  EXPECT_EQ(rp.read(0x18, 4) & 0xffffff, 0x010100u);
  EXPECT_EQ(PciFunction(m(), 0, 1).read(0, 2), 0xffffu);
  // The bus is named after the port.
  json r = qmp("qom-get", {{"path", "/machine/peripheral/rp1/rp1"}, {"property", "type"}});
  EXPECT_EQ(r["return"], "PCIE") << r.dump();
}

TEST_F(PcieRootPortTest, ColdPluggedDeviceIsPresentAndPowered) {
  start(std::string(kPorts) + "-device virtio-rng-pci,bus=rp1,id=rng0");
  PcieSlotDriver slot(m(), kPort1, 1);
  PciFunction& rp = slot.port();
  EXPECT_EQ(PciFunction(m(), 0, 1).read(0, 4), 0x10441af4u);
  EXPECT_TRUE(rp.read(kSltSta, 2) & kPds);
  EXPECT_TRUE(rp.read(kLnkSta, 2) & kDllla);
  uint16_t ctl = uint16_t(rp.read(kSltCtl, 2));
  EXPECT_EQ(ctl & kPcc, 0u);
  EXPECT_EQ(ctl & 0x300, kPwrIndOn);
  EXPECT_EQ(rp.read(kSltSta, 2) & (kPdc | kAbp), 0u);  // no event for a device present at start
  // A system reset keeps it so.
  qmp("system_reset");
  EXPECT_EQ(rp.read(kSltCtl, 2) & kPcc, 0u);
  rp.write(0x18, 0x010100, 4);  // numbered again
  EXPECT_EQ(PciFunction(m(), 0, 1).read(0, 2), 0x1af4u);
}

TEST_F(PcieRootPortTest, HotAddThenGuestPowersTheSlotOn) {
  start(kPorts);
  PcieSlotDriver slot(m(), kPort2, 2);
  PciFunction& rp = slot.port();
  slot.enable_msix(0xfe000000, kMsiAddr);
  slot.enable_notifications();
  EXPECT_TRUE(slot.msi_sent());  // command completed
  slot.ack();
  json r = qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "rp2"}, {"id", "hot"}});
  ASSERT_EQ(r, (json{{"return", json::object()}})) << r.dump();
  EXPECT_TRUE(slot.msi_sent());
  EXPECT_EQ(slot.ack() & (kPdc | kDllsc), kPdc | kDllsc);
  EXPECT_TRUE(rp.read(kSltSta, 2) & kPds);
  EXPECT_TRUE(rp.read(kLnkSta, 2) & kDllla);
  // The slot is still off: the function does not answer yet.
  PciFunction dev(m(), 0, 2);
  EXPECT_EQ(dev.read(0, 2), 0xffffu);
  // pciehp_power_on_slot, then the indicator blinks while it scans, then on.
  rp.write(kSltCtl, (rp.read(kSltCtl, 2) & ~(kPcc | 0x300u)) | kPwrIndBlink, 2);
  EXPECT_TRUE(slot.msi_sent());
  EXPECT_EQ(slot.ack(), kCc);
  EXPECT_EQ(dev.read(0, 4), 0x10441af4u);
  rp.write(kSltCtl, (rp.read(kSltCtl, 2) & ~0x300u) | kPwrIndOn, 2);
  EXPECT_EQ(slot.ack(), kCc);
  // The device works: a virtio driver finds it behind the port.
  GuestAlloc alloc;
  VirtioPciDriver drv(m(), alloc, 0, 0xe0000000, 2);
  EXPECT_TRUE(drv.found());
}

TEST_F(PcieRootPortTest, DeviceDelIsTheAttentionButtonThenPowerOff) {
  start(std::string(kPorts) + "-device virtio-rng-pci,bus=rp1,id=rng0");
  PcieSlotDriver slot(m(), kPort1, 1);
  PciFunction& rp = slot.port();
  slot.enable_msix(0xfe000000, kMsiAddr);
  slot.enable_notifications();
  slot.msi_sent();  // forget earlier messages
  json r = qmp("device_del", {{"id", "rng0"}});
  ASSERT_EQ(r, (json{{"return", json::object()}})) << r.dump();
  EXPECT_TRUE(slot.msi_sent());
  EXPECT_EQ(slot.ack(), kAbp);
  // Pending: a second request is refused, and the device is untouched.
  r = qmp("device_del", {{"id", "rng0"}});
  EXPECT_EQ(error_desc(r), "Device rng0 is already in the process of unplug");
  EXPECT_EQ(PciFunction(m(), 0, 1).read(0, 2), 0x1af4u);
  // pciehp: blink for 5 s (the user may cancel)...
  rp.write(kSltCtl, (rp.read(kSltCtl, 2) & ~0x300u) | kPwrIndBlink, 2);
  slot.ack();
  r = qmp("device_del", {{"id", "rng0"}});
  EXPECT_FALSE(error_desc(r).empty());
  // ... then power off, and 1 s later the indicator off: now the slot is empty.
  rp.write(kSltCtl, rp.read(kSltCtl, 2) | kPcc, 2);
  slot.ack();
  EXPECT_EQ(qmp("qom-get", {{"path", "/machine/peripheral/rng0"}, {"property", "type"}})["return"],
            "virtio-rng-pci");
  rp.write(kSltCtl, rp.read(kSltCtl, 2) | kPwrIndOff, 2);
  auto ev = m().wait_event("DEVICE_DELETED");
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["data"], (json{{"path", "/machine/peripheral/rng0/virtio-backend"}}));
  ev = m().wait_event("DEVICE_DELETED");
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["data"], (json{{"device", "rng0"}, {"path", "/machine/peripheral/rng0"}}));
  EXPECT_EQ(rp.read(kSltSta, 2) & kPds, 0u);
  EXPECT_TRUE(rp.read(kSltSta, 2) & kPdc);
  EXPECT_EQ(rp.read(kLnkSta, 2) & kDllla, 0u);
  EXPECT_EQ(PciFunction(m(), 0, 1).read(0, 2), 0xffffu);
  r = qmp("device_del", {{"id", "rng0"}});
  EXPECT_EQ(r["error"]["class"], "DeviceNotFound");
  // Exactly once each.
  m().qmp_client().drain(Ms(200));
  for (const json& e : m().qmp_client().events()) {
    EXPECT_NE(e["event"], "DEVICE_DELETED") << e.dump();
  }
  // The id and the slot are free again.
  r = qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "rp1"}, {"id", "rng0"}});
  EXPECT_EQ(r, (json{{"return", json::object()}})) << r.dump();
}

TEST_F(PcieRootPortTest, RefusedWhileTheGuestIsBusy) {
  start(std::string(kPorts) + "-device virtio-rng-pci,bus=rp1,id=rng0");
  PcieSlotDriver slot(m(), kPort1, 1);
  PciFunction& rp = slot.port();
  rp.write(kSltCtl, (rp.read(kSltCtl, 2) & ~0x300u) | kPwrIndBlink, 2);
  json r = qmp("device_del", {{"id", "rng0"}});
  EXPECT_EQ(error_desc(r), "Hot-unplug failed: guest is busy (power indicator blinking)");
  EXPECT_EQ(rp.read(kSltSta, 2) & kAbp, 0u);
}

TEST_F(PcieRootPortTest, AnIgnoredRequestExpiresAndMayBeRepeated) {
  start(std::string(kPorts) + "-device virtio-rng-pci,bus=rp1,id=rng0");
  json r = qmp("device_del", {{"id", "rng0"}});
  ASSERT_EQ(r, (json{{"return", json::object()}})) << r.dump();
  r = qmp("device_del", {{"id", "rng0"}});
  EXPECT_EQ(error_desc(r), "Device rng0 is already in the process of unplug");
  m().clock_step(5'000'000'001);
  r = qmp("device_del", {{"id", "rng0"}});
  EXPECT_EQ(r, (json{{"return", json::object()}})) << r.dump();
}

TEST_F(PcieRootPortTest, AButtonPressedBeforeTheDriverStartsIsNotLost) {
  start(std::string(kPorts) + "-device virtio-rng-pci,bus=rp1,id=rng0");
  PcieSlotDriver slot(m(), kPort1, 1);
  PciFunction& rp = slot.port();
  ASSERT_EQ(qmp("device_del", {{"id", "rng0"}}), (json{{"return", json::object()}}));
  // pciehp's probe clears every event bit, including ones that are not set...
  rp.write(kSltSta, 0x11f, 2);
  EXPECT_TRUE(rp.read(kSltSta, 2) & kAbp);
  // ... and the press is delivered once it enables notifications.
  slot.enable_msix(0xfe000000, kMsiAddr);
  uint16_t ctl = uint16_t(rp.read(kSltCtl, 2));
  rp.write(kSltCtl, ctl | kAbpe | kPdce | kCcie | kHpie, 2);
  EXPECT_TRUE(slot.msi_sent());
  EXPECT_EQ(slot.ack() & kAbp, kAbp);
}

TEST_F(PcieRootPortTest, TheGuestTurningTheSlotOffRemovesTheDevice) {
  // As QEMU: power controller and indicator off with a device present = the device is gone
  // (Linux does this for `echo 0 > /sys/bus/pci/slots/N/power`).
  start(std::string(kPorts) + "-device virtio-rng-pci,bus=rp1,id=rng0");
  PcieSlotDriver slot(m(), kPort1, 1);
  PciFunction& rp = slot.port();
  // The power controller alone (no device_del pending) powers the function down, keeps it.
  rp.write(kSltCtl, (rp.read(kSltCtl, 2) & ~0x300u) | kPcc | kPwrIndOn, 2);
  EXPECT_EQ(qmp("qom-get", {{"path", "/machine/peripheral/rng0"}, {"property", "type"}})["return"],
            "virtio-rng-pci");
  EXPECT_EQ(PciFunction(m(), 0, 1).read(0, 2), 0xffffu);
  rp.write(kSltCtl, rp.read(kSltCtl, 2) | kPcc | kPwrIndOff, 2);
  auto ev = m().wait_event("DEVICE_DELETED");
  ASSERT_TRUE(ev);
  ev = m().wait_event("DEVICE_DELETED");
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["data"]["device"], "rng0");
  EXPECT_EQ(rp.read(kSltSta, 2) & kPds, 0u);
}

TEST_F(PcieRootPortTest, ADeviceInASlotTheGuestNeverPoweredIsRemovedAtOnce) {
  start(kPorts);
  PcieSlotDriver slot(m(), kPort2, 2);
  PciFunction& rp = slot.port();
  ASSERT_EQ(qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "rp2"}, {"id", "hot"}}),
            (json{{"return", json::object()}}));
  ASSERT_EQ(qmp("device_del", {{"id", "hot"}}), (json{{"return", json::object()}}));
  auto ev = m().wait_event("DEVICE_DELETED");
  ASSERT_TRUE(ev);
  ev = m().wait_event("DEVICE_DELETED");
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["data"]["device"], "hot");
  EXPECT_EQ(rp.read(kSltSta, 2) & (kPds | kAbp), 0u);
}

TEST_F(PcieRootPortTest, IntxWithoutMsix) {
  start(kPorts);
  intercept_gsi();
  PcieSlotDriver slot(m(), kPort2, 2);
  PciFunction& rp = slot.port();
  rp.write(0x04, 0x6, 2);
  slot.enable_notifications();
  slot.ack();
  ASSERT_EQ(qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "rp2"}, {"id", "hot"}}),
            (json{{"return", json::object()}}));
  EXPECT_TRUE(rp.read(0x06, 2) & 0x08);  // STATUS.INTERRUPT
  int raised = -1;
  for (int gsi = 16; gsi < 24; ++gsi) {
    if (irq(gsi)) raised = gsi;
  }
  ASSERT_GE(raised, 16) << "no PIRQ raised";
  slot.ack();
  EXPECT_EQ(rp.read(0x06, 2) & 0x08, 0u);
  EXPECT_EQ(irq(raised), 0);
}

TEST_F(PcieRootPortTest, Errors) {
  start(std::string(kPorts) +
        "-device pcie-root-port,id=rp3,chassis=1,slot=3,addr=4,hotplug=off "
        "-device virtio-rng-pci,bus=rp3,id=cold");
  json r = qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "rp3"}});
  EXPECT_EQ(error_desc(r), "Bus 'rp3' does not support hotplugging");
  r = qmp("device_del", {{"id", "cold"}});
  EXPECT_EQ(error_desc(r), "Bus 'rp3' does not support hotplugging");
  r = qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "rp1"}, {"addr", "1.0"}});
  EXPECT_EQ(error_desc(r),
            "PCI: slot 1 is not valid for virtio-rng-pci, parent device only allows plugging "
            "into slot 0.");
  r = qmp("device_add", {{"driver", "pcie-root-port"}, {"bus", "pcie.0"}, {"chassis", 9}});
  EXPECT_EQ(error_desc(r), "Bus 'pcie.0' does not support hotplugging");
  r = qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "pcie.0"}});
  EXPECT_EQ(error_desc(r), "Bus 'pcie.0' does not support hotplugging");
  // The slot stays usable after the refusals.
  r = qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "rp1"}, {"id", "ok"}});
  EXPECT_EQ(r, (json{{"return", json::object()}})) << r.dump();
}

TEST(PcieRootPortCmdline, DuplicateChassisSlotIsRefused) {
  RawMachine m({"-M", "q35", "-display", "none", "-device", "pcie-root-port,id=a,chassis=1,slot=1",
                "-device", "pcie-root-port,id=b,chassis=1,slot=1"});
  ASSERT_TRUE(m.ok()) << m.error();
  ExitStatus st = m.wait_exit();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(m.child().stderr_text().find("Can't add chassis slot, error -16"), std::string::npos)
      << m.child().stderr_text();
}

}  // namespace
}  // namespace machina::qtest
