// Devices' drive property: attaching by drive id or node name, claims, blockdev-del refusals
// while a node is used, and the file really closed once the last user is gone.
#include "block/blockdev.h"
#include "block_test_util.h"

namespace machina::testing {
namespace {

using BlockClaimTest = BlockTest;

QemuOpts drive_opts(const std::string& text) {
  static const OptsListSpec spec{"drive", "", false, {}};
  auto o = qemu_opts_parse(spec, text, false);
  EXPECT_TRUE(o.ok()) << o.message();
  return o.ok() ? o.value() : QemuOpts{};
}

Status add_file_node(const std::string& name, const TempImage& img) {
  return blockdev_add({{"driver", "file"}, {"node-name", name}, {"filename", img.path()}},
                      OptSyntax::Qmp);
}

TEST_F(BlockClaimTest, UnknownDriveNamesTheProperty) {
  auto r = blk_attach_by_drive_property("nope", "vd0", "virtio-blk-device");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "Property 'virtio-blk-device.drive' can't find value 'nope'");
}

TEST_F(BlockClaimTest, NodeNameGetsAnAnonymousBackendThatGoesWithTheDevice) {
  TempImage img(8192);
  ASSERT_TRUE(add_file_node("disk0", img).ok());
  EXPECT_TRUE(fd_open_on(img.path()));
  {
    auto ref = blk_attach_by_drive_property("disk0", "vd0", "virtio-blk-device");
    ASSERT_TRUE(ref.ok()) << ref.message();
    BlockBackendRef blk = std::move(ref.value());
    EXPECT_EQ(blk->name(), "");
    EXPECT_EQ(blk->node_name(), "disk0");
    EXPECT_EQ(blk->length(), 8192u);
    EXPECT_TRUE(blk_all().empty());  // anonymous and not attached yet
    blk->set_attached_dev("/machine/peripheral/vd0/virtio-backend", "vd0");
    ASSERT_EQ(blk_all().size(), 1u);
    EXPECT_EQ(blk_all()[0], blk.get());

    // Busy while attached.
    Status del = blockdev_del("disk0");
    ASSERT_FALSE(del.ok());
    EXPECT_EQ(del.message(), "Node disk0 is in use");
    auto second = blk_attach_by_drive_property("disk0", "vd1", "virtio-blk-device");
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.message(), "Drive 'disk0' is already in use by another device");
  }
  EXPECT_TRUE(blk_all().empty());
  EXPECT_TRUE(fd_open_on(img.path()));  // the monitor still owns the node
  EXPECT_TRUE(blockdev_del("disk0").ok());
  EXPECT_FALSE(fd_open_on(img.path()));
  EXPECT_FALSE(bdrv_find_node("disk0"));
}

TEST_F(BlockClaimTest, ReleasingTheRefDetachesAndReleasesTheClaim) {
  TempImage img(4096);
  auto b = drive_new(drive_opts("file=" + img.path() + ",if=none,id=drive0"), "none");
  ASSERT_TRUE(b.ok()) << b.message();
  auto ref = blk_attach_by_drive_property("drive0", "vd0", "virtio-blk-device");
  ASSERT_TRUE(ref.ok()) << ref.message();
  ref.value()->set_attached_dev("/machine/peripheral/vd0/virtio-backend", "vd0");
  EXPECT_TRUE(b.value()->claimed());
  auto again = blk_attach_by_drive_property("drive0", "vd1", "virtio-blk-device");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.message(), "Drive 'drive0' is already in use by another device");
  ref.value().reset();
  EXPECT_FALSE(b.value()->claimed());
  EXPECT_EQ(b.value()->attached_qdev(), "");
  // The named backend stays (it belongs to -drive), so does its file.
  EXPECT_TRUE(blk_by_name("drive0"));
  EXPECT_TRUE(fd_open_on(img.path()));
  auto third = blk_attach_by_drive_property("drive0", "vd1", "virtio-blk-device");
  EXPECT_TRUE(third.ok()) << third.message();
}

TEST_F(BlockClaimTest, AutomaticallyConnectedDriveHasQemusHint) {
  TempImage img(4096);
  ASSERT_TRUE(drive_new(drive_opts("file=" + img.path() + ",if=virtio"), "none").ok());
  auto first = blk_attach_by_drive_property("virtio0", "virtio-disk0", "virtio-blk-pci");
  ASSERT_TRUE(first.ok()) << first.message();
  auto second = blk_attach_by_drive_property("virtio0", "vd1", "virtio-blk-device");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.message(),
            "Drive 'virtio0' is already in use because it has been automatically connected to "
            "another device (did you need 'if=none' in the drive options?)");
}

TEST_F(BlockClaimTest, BlockdevDelRefusals) {
  TempImage img(4096);
  ASSERT_TRUE(add_file_node("f", img).ok());
  ASSERT_TRUE(
      blockdev_add({{"driver", "raw"}, {"node-name", "r"}, {"file", "f"}}, OptSyntax::Qmp).ok());
  Status s = blockdev_del("f");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "Block device f is in use");
  EXPECT_EQ(blockdev_del("zz").message(), "Failed to find node with node-name='zz'");
  ASSERT_TRUE(
      drive_new(drive_opts("file=" + img.path() + ",if=none,id=dd,node-name=dn"), "none").ok());
  EXPECT_EQ(blockdev_del("dn").message(), "Node dn is in use");
  // The file child of a -drive is not the monitor's.
  std::string child = blk_by_name("dd")->root()->file_child()->node_name();
  EXPECT_EQ(blockdev_del(child).message(), "Node " + child + " is not owned by the monitor");
  // Parent first, then the child: both close.
  EXPECT_TRUE(blockdev_del("r").ok());
  EXPECT_TRUE(blockdev_del("f").ok());
  EXPECT_FALSE(bdrv_find_node("f"));
}

TEST_F(BlockClaimTest, CloseAllClosesEveryFile) {
  TempImage a(4096), b(4096), c(4096);
  ASSERT_TRUE(add_file_node("fa", a).ok());
  ASSERT_TRUE(
      blockdev_add({{"driver", "raw"}, {"node-name", "ra"}, {"file", "fa"}}, OptSyntax::Qmp).ok());
  ASSERT_TRUE(drive_new(drive_opts("file=" + b.path() + ",if=none,id=db"), "none").ok());
  ASSERT_TRUE(
      drive_new(drive_opts("file=" + c.path() + ",if=none,id=dc,cache=none,aio=io_uring"), "none")
          .ok());
  EXPECT_TRUE(fd_open_on(a.path()));
  EXPECT_TRUE(fd_open_on(b.path()));
  EXPECT_TRUE(fd_open_on(c.path()));
  bdrv_close_all();
  EXPECT_FALSE(fd_open_on(a.path()));
  EXPECT_FALSE(fd_open_on(b.path()));
  EXPECT_FALSE(fd_open_on(c.path()));
  EXPECT_TRUE(bdrv_named_nodes().empty());
  EXPECT_TRUE(blk_all().empty());
}

}  // namespace
}  // namespace machina::testing
