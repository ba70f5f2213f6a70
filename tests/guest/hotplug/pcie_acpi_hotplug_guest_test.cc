// ACPI PCI hot-plug (the q35 default, as QEMU 7.2's) with Debian's kernel (acpiphp) on the
// software CPU: a request made while the kernel boots, 100 add/remove cycles of a virtio disk with
// guest I/O in between (every DEVICE_DELETED exactly once, nothing left open or resident), and a
// removal while the guest is writing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
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
constexpr int kCycles = 100;

// Waits for DEVICE_DELETED of `id` (after its virtio backend's); false on timeout.
bool wait_deleted(GuestSession& s, const std::string& id, Ms timeout) {
  auto child = s.qmp().wait_event("DEVICE_DELETED", timeout);
  if (!child) return false;
  EXPECT_EQ((*child)["data"], (json{{"path", "/machine/peripheral/" + id + "/virtio-backend"}}));
  auto dev = s.qmp().wait_event("DEVICE_DELETED", Ms(10'000));
  if (!dev) return false;
  EXPECT_EQ((*dev)["data"], (json{{"device", id}, {"path", "/machine/peripheral/" + id}}));
  return true;
}

TEST(PcieAcpiHotplugGuest, EarlyRequestCyclesWithIoAndRemovalUnderLoad) {
  TempImage disk("acpihp-disk", 1 << 20), cold("acpihp-cold", 1 << 20);
  GuestOptions o;
  o.binary = qtest::machina_binary();
  o.guest_dir = default_guest_dir(MACHINA_SOURCE_DIR);
  ASSERT_TRUE(fs::exists(o.guest_dir + "/vmlinuz"))
      << "guest not built: run scripts/build-guest.sh (" << o.guest_dir << ")";
  o.extra = {"-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
             "-device", "pcie-root-port,id=rp2,chassis=1,slot=2",
             "-drive",  "if=none,id=colddrv,format=raw,file=" + cold.path,
             "-device", "virtio-blk-pci,bus=rp2,drive=colddrv,id=vcold"};
  o.append = "console=ttyS0";  // not quiet: the kernel's boot messages pace the early request
  GuestSession s(o);
  std::string err;
  json early;
  // The request is made while the kernel boots, before any driver binds the disk, but after the
  // kernel's own PCI resource assignment (fs_initcall; its last line is "PCI: CLS"): Linux 6.1
  // walks the bus lists there without pci_lock_rescan_remove, so an ACPI eject handled by the
  // kacpi_hotplug worker during that walk makes the guest's kernel follow a poisoned list entry —
  // a guest race that QEMU's guests have as well, and that no emulator can take away.
  ASSERT_TRUE(s.boot(600s, &err, [&](qtest::QmpClient& q) {
    ASSERT_TRUE(s.wait_for("PCI: CLS", 300s)) << s.console();
    early = q.execute("device_del", {{"id", "vcold"}});
  })) << err;
  EXPECT_EQ(early, kOk);
  // The request made before the guest could act completes once it can.
  EXPECT_TRUE(wait_deleted(s, "vcold", Ms(120'000))) << s.console();
  EXPECT_EQ(open_fds_on(s.pid(), cold.path), 0);

  ASSERT_EQ(
      s.qmp().execute("blockdev-add", {{"driver", "raw"},
                                       {"node-name", "disk0"},
                                       {"file", {{"driver", "file"}, {"filename", disk.path}}}}),
      kOk);
  // The guest side of the cycles: wait for the disk, write this cycle's sector, read it back,
  // report, wait for the disk to go.
  s.type("(i=0; while [ $i -lt " + std::to_string(kCycles) +
         " ]; do while [ ! -e /sys/block/vda ]; do usleep 2000; done; "
         "printf cycle%03d $i | dd of=/dev/vda bs=512 seek=$i conv=fsync 2>/dev/null; "
         "echo CYC$i-$(dd if=/dev/vda bs=512 skip=$i count=1 2>/dev/null | head -c 8); "
         "while [ -e /sys/block/vda ]; do usleep 2000; done; i=$((i+1)); done) &");
  int fds = -1;
  long rss = -1;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kCycles; ++i) {
    std::string id = "vblk" + std::to_string(i);
    ASSERT_EQ(s.qmp().execute(
                  "device_add",
                  {{"driver", "virtio-blk-pci"}, {"id", id}, {"drive", "disk0"}, {"bus", "rp1"}}),
              kOk);
    char want[32];
    std::snprintf(want, sizeof want, "CYC%d-cycle%03d", i, i);
    ASSERT_TRUE(s.wait_for(want, 120s)) << "cycle " << i << "\n" << s.console();
    ASSERT_EQ(s.qmp().execute("device_del", {{"id", id}}), kOk);
    ASSERT_TRUE(wait_deleted(s, id, Ms(60'000))) << "cycle " << i;
    if (i == 9) {
      fds = open_fd_count(s.pid());
      rss = rss_kib(s.pid());
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%d add/remove cycles with guest I/O: %.1f s\n", kCycles, secs);
  s.qmp().drain(Ms(500));
  for (const json& e : s.qmp().events()) {
    EXPECT_NE(e["event"], "DEVICE_DELETED") << "extra event: " << e.dump();
  }
  EXPECT_EQ(open_fd_count(s.pid()), fds);
  EXPECT_LT(rss_kib(s.pid()) - rss, 8192) << "resident memory grew over 90 cycles";
  for (int i : {0, 42, kCycles - 1}) {
    char want[16];
    std::snprintf(want, sizeof want, "cycle%03d", i);
    EXPECT_EQ(disk.read(uint64_t(i) * 512, 8), want) << "sector " << i;
  }

  // Removal while the guest writes to the disk: the writer sees errors, machina finishes or
  // cancels what is in flight, then DEVICE_DELETED, once.
  ASSERT_EQ(s.qmp().execute(
                "device_add",
                {{"driver", "virtio-blk-pci"}, {"id", "busy"}, {"drive", "disk0"}, {"bus", "rp1"}}),
            kOk);
  auto up = s.run(
      "while [ ! -e /sys/block/vda ]; do usleep 2000; done; "
      "(dd if=/dev/zero of=/dev/vda bs=4096 count=1000000 2>/dev/null &); echo started",
      120s);
  ASSERT_TRUE(up) << s.console();
  ASSERT_EQ(s.qmp().execute("device_del", {{"id", "busy"}}), kOk);
  EXPECT_TRUE(wait_deleted(s, "busy", Ms(60'000))) << s.console();
  EXPECT_EQ(s.qmp().execute("blockdev-del", {{"node-name", "disk0"}}), kOk);
  EXPECT_EQ(open_fds_on(s.pid(), disk.path), 0);
  auto alive = s.run("echo still-$((1+1))", 60s);
  EXPECT_EQ(alive.value_or(""), "still-2\n");
}

}  // namespace
}  // namespace machina::guest
