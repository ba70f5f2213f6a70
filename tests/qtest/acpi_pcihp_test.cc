// ACPI PCI hot-plug on q35 (the default, ICH9-LPC.acpi-pci-hotplug-with-bridge-support=on),
// driven through qtest exactly as the DSDT's methods drive it: \_GPE._E01 -> PCNT selects each
// bus (BNUM) and reads PCIU / PCID, a slot's _EJ0 writes BNUM and B0EJ, its _OST writes OSLT and
// OSTS. With the property off, the root ports' native slots are used instead.
#include <gtest/gtest.h>

#include "qtest/hw_pc_qtest.h"
#include "qtest/virtio_driver.h"

namespace machina::qtest {
namespace {

constexpr int kPort1 = 2 << 3;  // rp1 at 00:02.0: bus selector 0
constexpr int kPort2 = 3 << 3;  // rp2 at 00:03.0: bus selector 1
constexpr uint16_t kHp = 0x0cc4;
constexpr uint16_t kPciu = kHp + 0x00, kPcid = kHp + 0x04, kB0ej = kHp + 0x08;
constexpr uint16_t kPcrm = kHp + 0x0c, kBnum = kHp + 0x10, kPidx = kHp + 0x14;
constexpr uint16_t kOslt = kHp + 0x18, kOsts = kHp + 0x1c;
constexpr uint16_t kGpe0Sts = 0x620, kGpe0En = 0x628;
constexpr uint8_t kHotplugGpe = 0x02;  // GPE0 bit 1
constexpr int kSci = 9;
constexpr unsigned kSltCap = 0x54 + 0x14, kSltSta = 0x54 + 0x1a;
constexpr uint32_t kSltCapHpc = 0x40;
constexpr uint16_t kPds = 0x40, kPdc = 0x08;
constexpr uint32_t kOstEject = 3, kOstFailure = 1, kOstBusy = 0x82, kOstInProgress = 0x84;

const char* kPorts =
    "-device pcie-root-port,id=rp1,chassis=1,slot=1,addr=2 "
    "-device pcie-root-port,id=rp2,chassis=1,slot=2,addr=3 ";

class AcpiPciHpTest : public PcQtest {
 protected:
  static json ok() { return json{{"return", json::object()}}; }
  // What PCNT does for one bus: select it, read the announcements.
  uint32_t pciu(uint32_t bsel) {
    m().outl(kBnum, bsel);
    return m().inl(kPciu);
  }
  uint32_t pcid(uint32_t bsel) {
    m().outl(kBnum, bsel);
    return m().inl(kPcid);
  }
  // A slot's _EJ0 (PCEJ).
  void eject(uint32_t bsel, int slot) {
    m().outl(kBnum, bsel);
    m().outl(kB0ej, 1u << slot);
  }
  // A slot's _OST (PCOS).
  void ost(uint32_t bsel, uint32_t slot, uint32_t event, uint32_t status) {
    m().outl(kBnum, bsel);
    m().outl(kOslt, slot);
    m().outl(kOsts, event | status << 16);
  }
  bool gpe_pending() { return inb(kGpe0Sts) & kHotplugGpe; }
  void ack_gpe() { outb(kGpe0Sts, kHotplugGpe); }
  // Numbers a port's secondary bus as Linux would.
  void number(int port_devfn, int bus) {
    PciFunction(m(), port_devfn).write(0x18, uint32_t(bus) << 16 | uint32_t(bus) << 8, 4);
  }
  void expect_deleted(const std::string& id) {
    auto ev = m().wait_event("DEVICE_DELETED");
    ASSERT_TRUE(ev);
    EXPECT_EQ((*ev)["data"], (json{{"path", "/machine/peripheral/" + id + "/virtio-backend"}}));
    ev = m().wait_event("DEVICE_DELETED");
    ASSERT_TRUE(ev);
    EXPECT_EQ((*ev)["data"], (json{{"device", id}, {"path", "/machine/peripheral/" + id}}));
  }
};

TEST_F(AcpiPciHpTest, HotAddIsAnnouncedInPciuWithTheGpeAndSci) {
  start(kPorts);
  intercept_gsi();
  outb(kGpe0En, kHotplugGpe);  // what ACPICA does for \_GPE._E01
  EXPECT_EQ(irq(kSci), 0);
  ASSERT_EQ(qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "rp2"}, {"id", "hot"}}), ok());
  EXPECT_TRUE(gpe_pending());
  EXPECT_EQ(irq(kSci), 1);
  // PCNT: rp1's bus has nothing, rp2's has slot 0; PCIU is read once.
  EXPECT_EQ(pciu(0), 0u);
  EXPECT_EQ(pciu(1), 1u);
  EXPECT_EQ(pciu(1), 0u);
  EXPECT_EQ(pcid(1), 0u);
  EXPECT_EQ(m().inl(kBnum), 1u);
  m().outl(kBnum, 1);
  EXPECT_TRUE(m().inl(kPcrm) & 1u);  // removable
  ack_gpe();
  EXPECT_EQ(irq(kSci), 0);
  // The slot is powered: Linux's scan finds the device behind the port.
  number(kPort2, 2);
  EXPECT_EQ(PciFunction(m(), 0, 2).read(0, 4), 0x10441af4u);
  GuestAlloc alloc;
  VirtioPciDriver drv(m(), alloc, 0, 0xe0000000, 2);
  EXPECT_TRUE(drv.found());
  // No native hot-plug event reached the port. As QEMU 7.2, the slot still says hot-plug
  // capable: the DSDT's _OSC, not SLTCAP, keeps Linux's pciehp away.
  PciFunction rp(m(), kPort2);
  EXPECT_TRUE(rp.read(kSltCap, 4) & kSltCapHpc);
  EXPECT_EQ(rp.read(kSltSta, 2) & kPdc, 0u);
  EXPECT_TRUE(rp.read(kSltSta, 2) & kPds);
}

TEST_F(AcpiPciHpTest, DeviceDelIsAnEjectRequestAndB0ejRemovesTheDevice) {
  start(std::string(kPorts) + "-device virtio-rng-pci,bus=rp1,id=rng0");
  intercept_gsi();
  outb(kGpe0En, kHotplugGpe);
  number(kPort1, 1);
  EXPECT_EQ(PciFunction(m(), 0, 1).read(0, 2), 0x1af4u);  // cold-plugged: present, powered
  EXPECT_FALSE(gpe_pending());                            // and no event for it
  ASSERT_EQ(qmp("device_del", {{"id", "rng0"}}), ok());
  EXPECT_TRUE(gpe_pending());
  EXPECT_EQ(irq(kSci), 1);
  EXPECT_EQ(pciu(0), 0u);
  EXPECT_EQ(pcid(0), 1u);
  EXPECT_EQ(pcid(1), 0u);
  EXPECT_EQ(pcid(0), 1u);  // PCID stays until the eject
  ack_gpe();
  // Pending: a second request is refused, and the device is untouched.
  json r = qmp("device_del", {{"id", "rng0"}});
  EXPECT_EQ(error_desc(r), "Device rng0 is already in the process of unplug");
  EXPECT_FALSE(gpe_pending());
  EXPECT_EQ(PciFunction(m(), 0, 1).read(0, 2), 0x1af4u);
  // The guest's _EJ0.
  eject(0, 0);
  expect_deleted("rng0");
  EXPECT_EQ(pcid(0), 0u);
  EXPECT_EQ(PciFunction(m(), 0, 1).read(0, 2), 0xffffu);
  EXPECT_EQ(PciFunction(m(), kPort1).read(kSltSta, 2) & kPds, 0u);
  EXPECT_EQ(qmp("device_del", {{"id", "rng0"}})["error"]["class"], "DeviceNotFound");
  // Exactly once each.
  m().qmp_client().drain(Ms(200));
  for (const json& e : m().qmp_client().events()) {
    EXPECT_NE(e["event"], "DEVICE_DELETED") << e.dump();
  }
  // The id and the slot are free again; the slot kept its power.
  ASSERT_EQ(qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "rp1"}, {"id", "rng0"}}),
            ok());
  EXPECT_EQ(pciu(0), 1u);
  EXPECT_EQ(PciFunction(m(), 0, 1).read(0, 2), 0x1af4u);
}

TEST_F(AcpiPciHpTest, AnEjectRefusedThroughOstIsAGuestErrorAndMayBeRetried) {
  start(std::string(kPorts) + "-device virtio-rng-pci,bus=rp1,id=rng0");
  ASSERT_EQ(qmp("device_del", {{"id", "rng0"}}), ok());
  // The guest's _OST while it works on the request, then its verdict: the device is busy.
  ost(0, 0, kOstEject, kOstInProgress);
  ost(0, 0, kOstEject, kOstBusy);
  auto ev = m().wait_event("DEVICE_UNPLUG_GUEST_ERROR");
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["data"], (json{{"device", "rng0"}, {"path", "/machine/peripheral/rng0"}}));
  EXPECT_EQ(pcid(0), 0u);
  EXPECT_EQ(qmp("qom-get", {{"path", "/machine/peripheral/rng0"}, {"property", "type"}})["return"],
            "virtio-rng-pci");
  // The user tries again: a new request.
  ack_gpe();
  ASSERT_EQ(qmp("device_del", {{"id", "rng0"}}), ok());
  EXPECT_EQ(pcid(0), 1u);
  EXPECT_TRUE(gpe_pending());
  // Reports that are no failure change nothing.
  ost(0, 0, kOstEject, 0);
  ost(0, 0, 1, kOstFailure);  // a device check that went wrong is not an eject failure
  EXPECT_EQ(pcid(0), 1u);
  EXPECT_EQ(error_desc(qmp("device_del", {{"id", "rng0"}})),
            "Device rng0 is already in the process of unplug");
  // Ignored for 5 s: the request may be repeated, and is announced again.
  ack_gpe();
  m().clock_step(5'000'000'001);
  ASSERT_EQ(qmp("device_del", {{"id", "rng0"}}), ok());
  EXPECT_TRUE(gpe_pending());
  EXPECT_EQ(pcid(0), 1u);
  m().qmp_client().drain(Ms(200));
  for (const json& e : m().qmp_client().events()) {
    EXPECT_NE(e["event"], "DEVICE_UNPLUG_GUEST_ERROR") << e.dump();
  }
}

TEST_F(AcpiPciHpTest, ARequestMadeBeforeTheGuestEnabledTheGpeIsAnnouncedAgain) {
  start(std::string(kPorts) + "-device virtio-rng-pci,bus=rp1,id=rng0");
  intercept_gsi();
  ASSERT_EQ(qmp("device_del", {{"id", "rng0"}}), ok());
  EXPECT_TRUE(gpe_pending());
  EXPECT_EQ(irq(kSci), 0);  // nobody listens yet
  // ACPICA starts: it clears every GPE status bit, then enables the GPEs it has methods for.
  outb(kGpe0Sts, 0xff);
  EXPECT_FALSE(gpe_pending());
  outb(kGpe0En, kHotplugGpe);
  EXPECT_TRUE(gpe_pending());
  EXPECT_EQ(irq(kSci), 1);
  // ACPICA's dispatch: disable, clear, run _E01 (PCNT reads PCID), enable again.
  outb(kGpe0En, 0);
  ack_gpe();
  EXPECT_EQ(pcid(0), 1u);
  outb(kGpe0En, kHotplugGpe);
  EXPECT_FALSE(gpe_pending());  // announced: no second event
  EXPECT_EQ(irq(kSci), 0);
  eject(0, 0);
  expect_deleted("rng0");
}

TEST_F(AcpiPciHpTest, ARequestTheGuestCouldNotRouteYetIsAnnouncedAgainUntilItGivesUp) {
  start(std::string(kPorts) + "-device virtio-rng-pci,bus=rp1,id=rng0");
  outb(kGpe0En, kHotplugGpe);
  ASSERT_EQ(qmp("device_del", {{"id", "rng0"}}), ok());
  // _E01 runs, but the slot has no ACPI device object yet: Linux answers "non-specific failure".
  ack_gpe();
  EXPECT_EQ(pcid(0), 1u);
  ost(0, 0, kOstEject, kOstFailure);
  EXPECT_EQ(pcid(0), 1u);  // still requested
  EXPECT_FALSE(gpe_pending());
  m().clock_step(1'000'000'000);
  EXPECT_TRUE(gpe_pending());  // announced again
  // This time the guest acts on it.
  ack_gpe();
  EXPECT_EQ(pcid(0), 1u);
  eject(0, 0);
  expect_deleted("rng0");

  // A guest that keeps failing: after 30 tries the request is over.
  ASSERT_EQ(qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "rp1"}, {"id", "rng1"}}),
            ok());
  ASSERT_EQ(qmp("device_del", {{"id", "rng1"}}), ok());
  for (int i = 0; i < 30; ++i) {
    ack_gpe();
    ASSERT_EQ(pcid(0), 1u) << i;
    ost(0, 0, kOstEject, kOstFailure);
    m().clock_step(1'000'000'000);
    ASSERT_TRUE(gpe_pending()) << i;
  }
  ack_gpe();
  EXPECT_EQ(pcid(0), 1u);
  ost(0, 0, kOstEject, kOstFailure);
  auto ev = m().wait_event("DEVICE_UNPLUG_GUEST_ERROR");
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["data"]["device"], "rng1");
  EXPECT_EQ(pcid(0), 0u);
  m().clock_step(1'000'000'000);
  EXPECT_FALSE(gpe_pending());
}

TEST_F(AcpiPciHpTest, AResetCompletesAPendingEject) {
  start(std::string(kPorts) + "-device virtio-rng-pci,bus=rp1,id=rng0");
  ASSERT_EQ(qmp("device_del", {{"id", "rng0"}}), ok());
  ASSERT_EQ(qmp("system_reset"), ok());
  expect_deleted("rng0");
  EXPECT_EQ(pcid(0), 0u);
  EXPECT_FALSE(gpe_pending());
}

TEST_F(AcpiPciHpTest, BogusGuestAccessesChangeNothing) {
  start(std::string(kPorts) + "-device virtio-rng-pci,bus=rp1,id=rng0");
  // An unknown bus selector: reads 0, ejects nothing.
  m().outl(kBnum, 200);
  EXPECT_EQ(m().inl(kBnum), 200u);
  EXPECT_EQ(m().inl(kPciu), 0u);
  EXPECT_EQ(m().inl(kPcid), 0u);
  m().outl(kB0ej, 0xffffffff);
  ost(200, 0, kOstEject, kOstFailure);
  // An empty slot, no slot, an out-of-range slot, writes to read-only registers.
  eject(1, 0);
  m().outl(kBnum, 0);
  m().outl(kB0ej, 0);
  m().outl(kPciu, 0xffffffff);
  m().outl(kPcid, 0xffffffff);
  m().outl(kPcrm, 0);
  m().outl(kPidx, 0x80000000);
  EXPECT_EQ(m().inl(kPidx), 0u);
  ost(0, 1000, kOstEject, kOstFailure);
  // Other access sizes are not decoded.
  outb(kHp + 0x10, 1);
  EXPECT_EQ(m().inl(kBnum), 0u);
  // Nothing happened to the device; the controller still works.
  EXPECT_EQ(qmp("qom-get", {{"path", "/machine/peripheral/rng0"}, {"property", "type"}})["return"],
            "virtio-rng-pci");
  ASSERT_EQ(qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "rp2"}, {"id", "hot"}}), ok());
  EXPECT_EQ(pciu(1), 1u);
}

TEST_F(AcpiPciHpTest, PortsWithoutHotplugAreNotServed) {
  start(std::string(kPorts) +
        "-device pcie-root-port,id=rp3,chassis=1,slot=3,addr=4,hotplug=off "
        "-device virtio-rng-pci,bus=rp3,id=cold");
  json r = qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "rp3"}});
  EXPECT_EQ(error_desc(r), "Bus 'rp3' does not support hotplugging");
  r = qmp("device_del", {{"id", "cold"}});
  EXPECT_EQ(error_desc(r), "Bus 'rp3' does not support hotplugging");
  r = qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "pcie.0"}});
  EXPECT_EQ(error_desc(r), "Bus 'pcie.0' does not support hotplugging");
  // rp3 has no bus selector: 0 and 1 are rp1 and rp2.
  ASSERT_EQ(qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "rp2"}}), ok());
  EXPECT_EQ(pciu(1), 1u);
  m().outl(kBnum, 2);
  EXPECT_EQ(m().inl(kPcrm), 0u);
}

TEST_F(AcpiPciHpTest, WithThePropertyOffTheNativeSlotIsUsed) {
  start(std::string(kPorts) + "-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off");
  PciFunction rp(m(), kPort2);
  EXPECT_TRUE(rp.read(kSltCap, 4) & kSltCapHpc);
  outb(kGpe0En, kHotplugGpe);
  ASSERT_EQ(qmp("device_add", {{"driver", "virtio-rng-pci"}, {"bus", "rp2"}, {"id", "hot"}}), ok());
  EXPECT_EQ(rp.read(kSltSta, 2) & (kPds | kPdc), kPds | kPdc);
  EXPECT_FALSE(gpe_pending());
  // No ACPI hot-plug registers: the ports read as nothing.
  EXPECT_EQ(m().inl(kBnum), 0xffffffffu);
}

}  // namespace
}  // namespace machina::qtest
