// The DEVICE_DELETED contract on a native PCI Express slot, driven through qtest as pciehp
// would: when the event for a removed device arrives, every host resource it held is released
// (the -drive file is closed, blockdev-del and chardev-remove succeed at once), never before; and
// many add/remove cycles leave no descriptors or memory behind.
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "qtest/hw_pc_qtest.h"
#include "qtest/pcie_slot_driver.h"
#include "qtest/virtio_driver.h"

namespace machina::qtest {
namespace {

namespace fs = std::filesystem;

constexpr int kPort = 2 << 3;  // rp1 at 00:02.0, secondary bus 1
const json kOk = {{"return", json::object()}};
const char* kNative =
    "-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off "
    "-device pcie-root-port,id=rp1,chassis=1,slot=1,addr=2 ";

class PcieHotplugResourcesTest : public PcQtest {
 protected:
  void SetUp() override {
    image =
        (fs::temp_directory_path() / ("machina-hp-" + std::to_string(getpid()) + ".img")).string();
    std::ofstream(image).close();
    fs::resize_file(image, 1 << 20);
  }
  void TearDown() override {
    PcQtest::TearDown();
    fs::remove(image);
  }
  // device_del, then the guest's side of the handshake; returns the open descriptors on `file`
  // counted when DEVICE_DELETED for `id` arrived (-1: no event).
  int remove(PcieSlotDriver& slot, const std::string& id, const std::string& file = "") {
    EXPECT_EQ(qmp("device_del", {{"id", id}}), kOk);
    EXPECT_TRUE(slot.ack() & pcie_slot::kAbp);
    slot.power_off();
    for (;;) {
      auto ev = m().wait_event("DEVICE_DELETED");
      if (!ev) return -1;
      if ((*ev)["data"].value("device", "") == id)
        return file.empty() ? 0 : open_fds_on(m().pid(), file);
    }
  }
  std::string image;
};

TEST_F(PcieHotplugResourcesTest, TheDriveFileIsClosedWhenDeviceDeletedArrives) {
  start(std::string(kNative) + "-drive if=none,id=drv0,format=raw,file=" + image +
        " -device virtio-blk-pci,bus=rp1,drive=drv0,id=vblk0");
  PcieSlotDriver slot(m(), kPort, 1);
  EXPECT_EQ(open_fds_on(m().pid(), image), 1);
  EXPECT_EQ(remove(slot, "vblk0", image), 0);
  // The drive went with its device (QEMU's -drive auto-deletion).
  json r = qmp("query-block");
  for (const json& b : r["return"]) EXPECT_NE(b["device"], "drv0") << r.dump();
}

TEST_F(PcieHotplugResourcesTest, AnIothreadIsFreeAgainOnceItsDiskIsDeleted) {
  start(std::string(kNative) + "-object iothread,id=io0 -drive if=none,id=drv0,format=raw,file=" +
        image + " -device virtio-blk-pci,bus=rp1,drive=drv0,id=vblk0,iothread=io0");
  PcieSlotDriver slot(m(), kPort, 1);
  EXPECT_EQ(qmp("object-del", {{"id", "io0"}})["error"]["desc"],
            "object 'io0' is in use, can not be deleted");
  EXPECT_EQ(remove(slot, "vblk0", image), 0);
  EXPECT_EQ(qmp("object-del", {{"id", "io0"}}), kOk);
  EXPECT_EQ(qmp("query-iothreads")["return"], json::array());
}

TEST_F(PcieHotplugResourcesTest, BlockdevDelIsRefusedUntilTheEventThenSucceedsAtOnce) {
  start(kNative);
  PcieSlotDriver slot(m(), kPort, 1);
  ASSERT_EQ(qmp("blockdev-add", {{"driver", "raw"},
                                 {"node-name", "disk0"},
                                 {"file", {{"driver", "file"}, {"filename", image}}}}),
            kOk);
  ASSERT_EQ(
      qmp("device_add",
          {{"driver", "virtio-blk-pci"}, {"id", "vblk0"}, {"drive", "disk0"}, {"bus", "rp1"}}),
      kOk);
  slot.power_on();
  EXPECT_EQ(error_desc(qmp("blockdev-del", {{"node-name", "disk0"}})), "Node disk0 is in use");
  ASSERT_EQ(qmp("device_del", {{"id", "vblk0"}}), kOk);
  // Requested, not done: still in use.
  EXPECT_EQ(error_desc(qmp("blockdev-del", {{"node-name", "disk0"}})), "Node disk0 is in use");
  slot.power_off();
  auto ev = m().wait_event("DEVICE_DELETED");  // the virtio backend
  ASSERT_TRUE(ev);
  ev = m().wait_event("DEVICE_DELETED");
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["data"]["device"], "vblk0");
  EXPECT_EQ(qmp("blockdev-del", {{"node-name", "disk0"}}), kOk);
  EXPECT_EQ(open_fds_on(m().pid(), image), 0);
}

TEST_F(PcieHotplugResourcesTest, ChardevRemoveFollowsTheSerialPort) {
  start(std::string(kNative) +
        "-chardev null,id=c1 -device virtio-serial-pci,bus=rp1,id=vser "
        "-device virtserialport,bus=vser.0,chardev=c1,name=org.test.0");
  PcieSlotDriver slot(m(), kPort, 1);
  EXPECT_EQ(error_desc(qmp("chardev-remove", {{"id", "c1"}})), "Chardev 'c1' is busy");
  EXPECT_EQ(remove(slot, "vser"), 0);
  EXPECT_EQ(qmp("chardev-remove", {{"id", "c1"}}), kOk);
}

TEST_F(PcieHotplugResourcesTest, AHundredCyclesLeaveNothingBehind) {
  start(kNative);
  PcieSlotDriver slot(m(), kPort, 1);
  slot.enable_notifications();
  ASSERT_EQ(qmp("blockdev-add", {{"driver", "raw"},
                                 {"node-name", "disk0"},
                                 {"file", {{"driver", "file"}, {"filename", image}}}}),
            kOk);
  int fds = 0;
  long rss = 0;
  for (int i = 0; i < 100; ++i) {
    std::string id = "vblk" + std::to_string(i);
    ASSERT_EQ(qmp("device_add",
                  {{"driver", "virtio-blk-pci"}, {"id", id}, {"drive", "disk0"}, {"bus", "rp1"}}),
              kOk);
    EXPECT_TRUE(slot.ack() & pcie_slot::kPdc);
    slot.power_on();
    ASSERT_EQ(slot.function().read(0, 4), 0x10421af4u);
    ASSERT_EQ(qmp("device_del", {{"id", id}}), kOk);
    slot.ack();
    slot.power_off();
    auto backend = m().wait_event("DEVICE_DELETED");
    ASSERT_TRUE(backend);
    EXPECT_EQ((*backend)["data"],
              (json{{"path", "/machine/peripheral/" + id + "/virtio-backend"}}));
    auto dev = m().wait_event("DEVICE_DELETED");
    ASSERT_TRUE(dev);
    EXPECT_EQ((*dev)["data"], (json{{"device", id}, {"path", "/machine/peripheral/" + id}}));
    if (i == 9) {  // after the first allocations have settled
      fds = open_fd_count(m().pid());
      rss = rss_kib(m().pid());
    }
  }
  m().qmp_client().drain(Ms(200));
  for (const json& e : m().qmp_client().events()) {
    EXPECT_NE(e["event"], "DEVICE_DELETED") << "extra event: " << e.dump();
  }
  EXPECT_EQ(open_fd_count(m().pid()), fds);
#if defined(__SANITIZE_ADDRESS__)
  // ASan's quarantine keeps freed memory resident by design; leaks are its leak checker's job.
  (void)rss;
#else
  EXPECT_LT(rss_kib(m().pid()) - rss, 2048) << "resident memory grew over 90 cycles";
#endif
  EXPECT_EQ(qmp("blockdev-del", {{"node-name", "disk0"}}), kOk);
}

TEST_F(PcieHotplugResourcesTest, IoInFlightIsCompletedBeforeTheDeviceIsDeleted) {
  // Every request on this node takes 400 ms (null-co's latency, real time).
  start(std::string(kNative) +
        "-blockdev driver=null-co,node-name=slow,size=1M,latency-ns=400000000 "
        "-device virtio-blk-pci,bus=rp1,drive=slow,id=vblk0");
  PcieSlotDriver slot(m(), kPort, 1);
  GuestAlloc alloc;
  VirtioPciDriver d(m(), alloc, 0, 0xe0000000, 1);
  ASSERT_TRUE(d.found());
  ASSERT_TRUE(d.negotiate(1ull << 32));
  VirtioQueue q = d.setup_queue(0);
  d.driver_ok();
  // A read of sector 0, kicked and left in flight.
  uint64_t hdr = alloc.alloc(16), data = alloc.alloc(512), status = alloc.alloc(1);
  mem_write(m(), hdr, std::vector<uint8_t>(16, 0));  // VIRTIO_BLK_T_IN, sector 0
  m().writeb(status, 0xff);
  d.add_chain(q, {{hdr, 16, false}, {data, 512, true}, {status, 1, true}});
  auto t0 = std::chrono::steady_clock::now();
  d.kick(q);
  ASSERT_EQ(qmp("device_del", {{"id", "vblk0"}}), kOk);
  slot.ack();
  slot.power_off();  // the guest lets it go while the read is still in flight
  auto backend = m().wait_event("DEVICE_DELETED");
  ASSERT_TRUE(backend);
  auto dev = m().wait_event("DEVICE_DELETED");
  ASSERT_TRUE(dev);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ((*dev)["data"]["device"], "vblk0");
  // The device waited for its request: completed (not dropped), then deleted.
  EXPECT_GE(ms, 390.0);
  EXPECT_EQ(d.used_idx(q), 1);
  EXPECT_EQ(m().readb(status), 0);  // VIRTIO_BLK_S_OK
  // The node is free now.
  EXPECT_EQ(qmp("blockdev-del", {{"node-name", "slow"}}), kOk);
}

// A tap netdev outlives its unplugged NIC (as QEMU's -netdev does): DEVICE_DELETED leaves the
// tap open, and netdev_del then closes it at once; the id is free again. machina runs in a
// network namespace of its own (this test process's), where it may create interfaces.
TEST_F(PcieHotplugResourcesTest, NetdevDelClosesTheTapOnceTheNicIsDeleted) {
  if (unshare(CLONE_NEWNET) != 0)
    GTEST_SKIP() << "no network namespace for a tap: " << std::strerror(errno);
  if (access("/dev/net/tun", R_OK | W_OK) != 0)
    GTEST_SKIP() << "/dev/net/tun: " << std::strerror(errno);
  const char* kTun = "/dev/net/tun";
  start(std::string(kNative) +
        "-netdev tap,id=n0,ifname=mtap0,script=no,downscript=no "
        "-device virtio-net-pci,bus=rp1,netdev=n0,id=nic0");
  PcieSlotDriver slot(m(), kPort, 1);
  EXPECT_EQ(open_fds_on(m().pid(), kTun), 1);
  EXPECT_EQ(error_desc(qmp("netdev_add", {{"type", "tap"}, {"id", "n0"}})), "Duplicate ID 'n0'");
  EXPECT_EQ(remove(slot, "nic0", kTun), 1);  // the netdev is not the NIC's to delete
  EXPECT_EQ(qmp("netdev_del", {{"id", "n0"}}), kOk);
  EXPECT_EQ(open_fds_on(m().pid(), kTun), 0);
  // The id and the interface name can be used again.
  EXPECT_EQ(qmp("netdev_add", {{"type", "tap"},
                               {"id", "n0"},
                               {"ifname", "mtap0"},
                               {"script", "no"},
                               {"downscript", "no"}}),
            kOk);
  EXPECT_EQ(open_fds_on(m().pid(), kTun), 1);
}

// The same with a multiqueue tap under an mq=on NIC: DEVICE_DELETED leaves all the queues' fds
// open (the netdev is not the NIC's), netdev_del closes every one of them.
TEST_F(PcieHotplugResourcesTest, NetdevDelClosesEveryTapQueueOnceTheMqNicIsDeleted) {
  if (unshare(CLONE_NEWNET) != 0)
    GTEST_SKIP() << "no network namespace for a tap: " << std::strerror(errno);
  if (access("/dev/net/tun", R_OK | W_OK) != 0)
    GTEST_SKIP() << "/dev/net/tun: " << std::strerror(errno);
  const char* kTun = "/dev/net/tun";
  start(std::string(kNative) +
        "-netdev tap,id=n0,ifname=mqtap0,script=no,downscript=no,queues=4 "
        "-device virtio-net-pci,bus=rp1,netdev=n0,id=nic0,mq=on");
  PcieSlotDriver slot(m(), kPort, 1);
  EXPECT_EQ(open_fds_on(m().pid(), kTun), 4);
  EXPECT_EQ(remove(slot, "nic0", kTun), 4);
  EXPECT_EQ(qmp("netdev_del", {{"id", "n0"}}), kOk);
  EXPECT_EQ(open_fds_on(m().pid(), kTun), 0);
  EXPECT_EQ(if_nametoindex("mqtap0"), 0u) << "the interface goes with its last queue";
}

}  // namespace
}  // namespace machina::qtest
