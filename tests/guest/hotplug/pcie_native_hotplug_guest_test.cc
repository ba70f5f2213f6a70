// Native PCI Express hot-plug with Debian's kernel (pciehp) on the software CPU: one boot with
// three pcie-root-ports, ACPI hot-plug switched off the way QEMU users do it. The host acts
// through QMP while the guest shell watches; every DEVICE_DELETED is checked against what the
// host process still holds (its /proc/PID/fd) at the moment the event arrives.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "guest/guest_session.h"

namespace machina::guest {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using qtest::json;
using qtest::Ms;

const json kOk = {{"return", json::object()}};

class PcieNativeHotplugGuest : public ::testing::Test {
 protected:
  // Waits for DEVICE_DELETED of the device `id`: the backend child's event (path only) must come
  // first. Returns the open descriptors on `file` counted when the device's event arrived.
  int wait_deleted(const std::string& id, const std::string& file, Ms timeout) {
    auto child = s->qmp().wait_event("DEVICE_DELETED", timeout);
    if (!child) return -1;
    EXPECT_EQ((*child)["data"], (json{{"path", "/machine/peripheral/" + id + "/virtio-backend"}}));
    auto dev = s->qmp().wait_event("DEVICE_DELETED", Ms(5000));
    int fds = file.empty() ? 0 : open_fds_on(s->pid(), file);
    if (!dev) return -1;
    EXPECT_EQ((*dev)["data"], (json{{"device", id}, {"path", "/machine/peripheral/" + id}}));
    return fds;
  }
  std::string guest(const std::string& cmd, std::chrono::milliseconds timeout = 120s) {
    auto out = s->run(cmd, timeout);
    EXPECT_TRUE(out.has_value()) << "no answer to: " << cmd << "\nconsole:\n" << s->console();
    return out.value_or("");
  }
  std::unique_ptr<GuestSession> s;
};

TEST_F(PcieNativeHotplugGuest, DisksAndNicsComeAndGo) {
  TempImage cold("hotplug-cold", 8 << 20), hot("hotplug-hot", 8 << 20);
  GuestOptions o;
  o.binary = qtest::machina_binary();
  o.guest_dir = default_guest_dir(MACHINA_SOURCE_DIR);
  ASSERT_TRUE(fs::exists(o.guest_dir + "/vmlinuz"))
      << "guest not built: run scripts/build-guest.sh (" << o.guest_dir << ")";
  o.extra = {"-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off",
             "-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
             "-device", "pcie-root-port,id=rp2,chassis=1,slot=2",
             "-device", "pcie-root-port,id=rp3,chassis=1,slot=3",
             "-drive",  "if=none,id=colddrv,format=raw,file=" + cold.path,
             "-device", "virtio-blk-pci,bus=rp3,drive=colddrv,id=vcold"};
  s = std::make_unique<GuestSession>(o);
  std::string err;
  // A request made while the kernel is still booting: it must not be lost.
  json early;
  ASSERT_TRUE(s->boot(600s, &err, [&](qtest::QmpClient& q) {
    early = q.execute("device_del", {{"id", "vcold"}});
  })) << err;
  EXPECT_EQ(early, kOk);
  // pciehp takes the pending button press when it starts, waits its 5 s, powers the slot off.
  EXPECT_EQ(wait_deleted("vcold", cold.path, Ms(120'000)), 0)
      << "the -drive file is still open when DEVICE_DELETED arrives";

  // --- hot-add a disk on a node from blockdev-add; the guest writes it.
  ASSERT_EQ(
      s->qmp().execute("blockdev-add", {{"driver", "raw"},
                                        {"node-name", "disk0"},
                                        {"file", {{"driver", "file"}, {"filename", hot.path}}}}),
      kOk);
  ASSERT_EQ(
      s->qmp().execute(
          "device_add",
          {{"driver", "virtio-blk-pci"}, {"id", "vblk0"}, {"drive", "disk0"}, {"bus", "rp1"}}),
      kOk);
  EXPECT_EQ(guest("while [ ! -e /sys/block/vda ]; do sleep 0.05; done; cat /sys/block/vda/size"),
            "16384\n");
  guest("printf machina-hotplug-data | dd of=/dev/vda conv=fsync 2>/dev/null; echo written");
  EXPECT_EQ(qtest::error_desc(s->qmp().execute("blockdev-del", {{"node-name", "disk0"}})),
            "Node disk0 is in use");

  // --- hot-remove it: the guest lets it go (5 s after the button), then DEVICE_DELETED.
  ASSERT_EQ(s->qmp().execute("device_del", {{"id", "vblk0"}}), kOk);
  EXPECT_EQ(qtest::error_desc(s->qmp().execute("device_del", {{"id", "vblk0"}})),
            "Device vblk0 is already in the process of unplug");
  EXPECT_EQ(guest("while [ -e /sys/block/vda ]; do sleep 0.05; done; echo gone"), "gone\n");
  // The node stays open (it belongs to the monitor) until blockdev-del, which now succeeds.
  EXPECT_EQ(wait_deleted("vblk0", "", Ms(60'000)), 0);
  EXPECT_EQ(s->qmp().execute("blockdev-del", {{"node-name", "disk0"}}), kOk);
  EXPECT_EQ(open_fds_on(s->pid(), hot.path), 0);
  EXPECT_EQ(hot.read(0, 20), "machina-hotplug-data");

  // --- a NIC: hot-add, DHCP through it, hot-remove, then its netdev can go.
  ASSERT_EQ(s->qmp().execute("netdev_add", {{"type", "user"}, {"id", "net0"}}), kOk);
  ASSERT_EQ(s->qmp().execute(
                "device_add",
                {{"driver", "virtio-net-pci"}, {"id", "nic0"}, {"netdev", "net0"}, {"bus", "rp2"}}),
            kOk);
  std::string lease = guest(
      "while [ ! -e /sys/class/net/eth0 ]; do sleep 0.05; done; ip link set eth0 up; "
      "udhcpc -i eth0 -n -q -t 10 -T 2 -s /bin/true 2>&1 | grep -o 'lease of [0-9.]*'");
  EXPECT_EQ(lease, "lease of 10.0.2.15\n");
  ASSERT_EQ(s->qmp().execute("device_del", {{"id", "nic0"}}), kOk);
  EXPECT_EQ(guest("while [ -e /sys/class/net/eth0 ]; do sleep 0.05; done; echo gone"), "gone\n");
  EXPECT_EQ(wait_deleted("nic0", "", Ms(60'000)), 0);
  EXPECT_EQ(s->qmp().execute("netdev_del", {{"id", "net0"}}), kOk);

  // --- the same slot again and again: every event exactly once, nothing left behind.
  int fds_before = open_fd_count(s->pid());
  for (int i = 0; i < 3; ++i) {
    std::string id = "rng" + std::to_string(i);
    ASSERT_EQ(
        s->qmp().execute("device_add", {{"driver", "virtio-rng-pci"}, {"id", id}, {"bus", "rp1"}}),
        kOk);
    EXPECT_EQ(guest("while [ ! -e /sys/bus/pci/devices/0000:01:00.0/driver ]; do sleep 0.05; "
                    "done; basename $(readlink /sys/bus/pci/devices/0000:01:00.0/driver)"),
              "virtio-pci\n");
    ASSERT_EQ(s->qmp().execute("device_del", {{"id", id}}), kOk);
    EXPECT_EQ(wait_deleted(id, "", Ms(60'000)), 0);
  }
  s->qmp().drain(Ms(500));
  for (const json& e : s->qmp().events()) {
    EXPECT_NE(e["event"], "DEVICE_DELETED") << "extra event: " << e.dump();
  }
  EXPECT_EQ(open_fd_count(s->pid()), fds_before);
  std::string klog = guest("dmesg | grep -i pciehp | tail -n 5");
  std::printf("guest pciehp log (tail):\n%s", klog.c_str());
}

}  // namespace
}  // namespace machina::guest
