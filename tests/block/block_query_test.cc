// query-block / query-named-block-nodes / info block contents.
#include "block/blockdev.h"
#include "block/qapi-block.h"
#include "block_test_util.h"

namespace machina::testing {
namespace {

using BlockQueryTest = BlockTest;

QemuOpts drive_opts(const std::string& text) {
  static const OptsListSpec spec{"drive", "", false, {}};
  auto o = qemu_opts_parse(spec, text, false);
  EXPECT_TRUE(o.ok()) << o.message();
  return o.ok() ? o.value() : QemuOpts{};
}

TEST_F(BlockQueryTest, AttachedDriveShowsQdevAndIoStatus) {
  TempImage img(1 << 16);
  auto blk = drive_new(
      drive_opts("file=" + img.path() + ",if=none,id=drive0,cache=directsync,readonly=on"), "none");
  ASSERT_TRUE(blk.ok()) << blk.message();
  auto ref = blk_attach_by_drive_property("drive0", "vd0", "virtio-blk-device");
  ASSERT_TRUE(ref.ok());
  ref.value()->set_attached_dev("/machine/peripheral/vd0/virtio-backend", "");
  json q = qmp_query_block();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0]["device"], "drive0");
  EXPECT_EQ(q[0]["qdev"], "/machine/peripheral/vd0/virtio-backend");
  EXPECT_EQ(q[0]["removable"], false);
  EXPECT_EQ(q[0]["locked"], false);
  EXPECT_EQ(q[0]["io-status"], "ok");
  EXPECT_EQ(q[0]["inserted"]["ro"], true);
  EXPECT_EQ(q[0]["inserted"]["cache"],
            json({{"writeback", false}, {"direct", true}, {"no-flush", false}}));
  EXPECT_EQ(q[0]["inserted"]["image"]["virtual-size"], 1 << 16);
  std::string text = hmp_info_block_text();
  EXPECT_NE(text.find("Attached to:      /machine/peripheral/vd0/virtio-backend"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("(raw, read-only)"), std::string::npos) << text;
  EXPECT_NE(text.find("Cache mode:       writethrough, direct"), std::string::npos) << text;

  // A device with an id is named by it.
  ref.value()->set_attached_dev("/machine/peripheral/vd0", "vd0");
  EXPECT_EQ(qmp_query_block()[0]["qdev"], "vd0");
  ref.value().reset();
  q = qmp_query_block();
  EXPECT_FALSE(q[0].contains("qdev"));
  EXPECT_EQ(q[0]["removable"], true);
}

TEST_F(BlockQueryTest, ReportPoliciesHaveNoIoStatus) {
  TempImage img(4096);
  auto blk = drive_new(
      drive_opts("file=" + img.path() + ",if=none,id=d1,werror=report,rerror=report"), "none");
  ASSERT_TRUE(blk.ok()) << blk.message();
  blk.value()->set_attached_dev("/machine/peripheral-anon/device[0]/virtio-backend", "");
  EXPECT_FALSE(qmp_query_block()[0].contains("io-status"));
  blk.value()->set_attached_dev("", "");
}

TEST_F(BlockQueryTest, AnonymousBackendsAppearOnlyWhileAttached) {
  TempImage img(4096);
  ASSERT_TRUE(blockdev_add({{"driver", "raw"},
                            {"node-name", "disk0"},
                            {"file", {{"driver", "file"}, {"filename", img.path()}}}},
                           OptSyntax::Qmp)
                  .ok());
  EXPECT_EQ(qmp_query_block(), json::array());
  auto ref = blk_attach_by_drive_property("disk0", "vd0", "virtio-blk-device");
  ASSERT_TRUE(ref.ok());
  ref.value()->set_attached_dev("/machine/peripheral/vd0/virtio-backend", "");
  json q = qmp_query_block();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0]["device"], "");
  EXPECT_EQ(q[0]["inserted"]["node-name"], "disk0");
  json nodes = qmp_query_named_block_nodes();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[1]["node-name"], "disk0");
  EXPECT_EQ(nodes[0]["drv"], "file");
  EXPECT_EQ(nodes[0]["image"]["format"], "file");
  EXPECT_EQ(nodes[1]["cache"]["writeback"], true);
}

}  // namespace
}  // namespace machina::testing
