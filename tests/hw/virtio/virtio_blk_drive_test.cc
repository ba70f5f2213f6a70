// virtio-blk-pci and its drive when the device goes away (QEMU's drive auto-deletion): a -drive
// backend is deleted with its device, its file closed before DEVICE_DELETED; a -blockdev node
// stays until blockdev-del.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>

#include "block/block_test_util.h"
#include "block/blockdev.h"
#include "block/qapi-block.h"
#include "hw/core/qdev-events.h"
#include "hw/core/qdev-monitor.h"
#include "hw/pci-host/q35.h"
#include "util/bql.h"

namespace machina::testing {
namespace {

class EventRecorder : public DeviceEventSink {
 public:
  std::function<void(const std::string& path)> on_deleted;
  std::vector<std::string> deleted;
  void device_deleted(const std::optional<std::string>&, const std::string& path) override {
    deleted.push_back(path);
    if (on_deleted) on_deleted(path);
  }
  void device_unplug_guest_error(const std::optional<std::string>&, const std::string&) override {}
};

class VirtioBlkDriveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = q35_host_create(0x80000000, 0);
    ASSERT_TRUE(h.ok()) << h.message();
    previous_ = qdev_set_event_sink(&events_);
  }
  void TearDown() override {
    for (const char* c : {"/machine/peripheral", "/machine/peripheral-anon"}) {
      while (!container_get(c)->children().empty()) container_get(c)->children().back()->unparent();
    }
    if (Object* o = object_resolve_path("/machine/q35")) o->unparent();
    Object* u = container_get("/machine/unattached");
    for (Object* o : u->children()) {
      if (dynamic_cast<Device*>(o)) o->unparent();
    }
    qdev_set_event_sink(previous_);
    bdrv_close_all();
  }
  Device* add_disk(const std::string& drive) {
    DeviceOptions o;
    o.driver = "virtio-blk-pci";
    o.id = "vblk0";
    o.props = {{"drive", json(drive)}, {"addr", json("5")}};
    auto r = qdev_device_add(o);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? r.value() : nullptr;
  }
  static QemuOpts drive_opts(const std::string& text) {
    static const OptsListSpec spec{"drive", "", false, {}};
    auto o = qemu_opts_parse(spec, text, false);
    EXPECT_TRUE(o.ok()) << o.message();
    return o.ok() ? o.value() : QemuOpts{};
  }

  BqlGuard bql_;
  EventRecorder events_;
  DeviceEventSink* previous_ = nullptr;
};

TEST_F(VirtioBlkDriveTest, DriveGoesWithItsDeviceAndItsFileIsClosedFirst) {
  TempImage img(1 << 16);
  ASSERT_TRUE(drive_new(drive_opts("file=" + img.path() + ",if=none,id=d0"), "none").ok());
  Device* dev = add_disk("d0");
  ASSERT_TRUE(dev);
  EXPECT_TRUE(fd_open_on(img.path()));
  ASSERT_EQ(qmp_query_block().size(), 1u);
  bool checked = false;
  events_.on_deleted = [&](const std::string& path) {
    if (path != "/machine/peripheral/vblk0") return;
    EXPECT_FALSE(fd_open_on(img.path())) << "DEVICE_DELETED while the drive's file is open";
    EXPECT_FALSE(blk_by_name("d0"));
    checked = true;
  };
  dev->unparent();
  EXPECT_TRUE(checked);
  EXPECT_FALSE(fd_open_on(img.path()));
  EXPECT_FALSE(blk_by_name("d0"));
  EXPECT_FALSE(drive_info("d0"));
  EXPECT_TRUE(bdrv_named_nodes().empty()) << "the drive's nodes went too";
  EXPECT_EQ(qmp_query_block(), json::array());
  // The id is free again for a new -drive.
  EXPECT_TRUE(drive_new(drive_opts("file=" + img.path() + ",if=none,id=d0"), "none").ok());
}

TEST_F(VirtioBlkDriveTest, BlockdevNodeStaysUntilBlockdevDel) {
  TempImage img(1 << 16);
  ASSERT_TRUE(blockdev_add({{"driver", "raw"},
                            {"node-name", "disk0"},
                            {"file", {{"driver", "file"}, {"filename", img.path()}}}},
                           OptSyntax::Qmp)
                  .ok());
  Device* dev = add_disk("disk0");
  ASSERT_TRUE(dev);
  dev->unparent();
  EXPECT_NE(std::find(events_.deleted.begin(), events_.deleted.end(), "/machine/peripheral/vblk0"),
            events_.deleted.end());
  EXPECT_TRUE(fd_open_on(img.path()));
  EXPECT_TRUE(bdrv_find_node("disk0"));
  ASSERT_TRUE(blockdev_del("disk0").ok());
  EXPECT_FALSE(fd_open_on(img.path()));
}

TEST_F(VirtioBlkDriveTest, NullDriveWithLatencyGoesWithItsDevice) {
  ASSERT_TRUE(
      drive_new(drive_opts("if=none,id=d1,driver=null-co,size=1M,latency-ns=1000000"), "none")
          .ok());
  Device* dev = add_disk("d1");
  ASSERT_TRUE(dev);
  ASSERT_TRUE(bdrv_named_nodes().size() == 1u);
  dev->unparent();
  EXPECT_FALSE(blk_by_name("d1"));
  EXPECT_TRUE(bdrv_named_nodes().empty());
}

}  // namespace
}  // namespace machina::testing
