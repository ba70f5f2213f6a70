// Option parsing: -blockdev keyval and JSON, blockdev-add arguments, -drive options, with
// QEMU's error texts.
#include "block/blockdev.h"
#include "block/file-posix.h"
#include "block/raw-format.h"
#include "block_test_util.h"

namespace machina::testing {
namespace {

using BlockOptionsTest = BlockTest;

std::string add_error(const json& j, OptSyntax syntax = OptSyntax::Qmp) {
  Status s = blockdev_add(j, syntax);
  return s.ok() ? "ok" : s.message();
}

std::string keyval_error(const std::string& text) {
  auto kv = keyval_parse(text, "driver");
  if (!kv.ok()) return kv.message();
  auto j = options_to_json(kv.value());
  if (!j.ok()) return j.message();
  return add_error(j.value(), OptSyntax::Keyval);
}

std::string drive_error(const std::string& text, const std::string& default_if = "none") {
  static const OptsListSpec spec{"drive", "", false, {}};
  auto o = qemu_opts_parse(spec, text, false);
  if (!o.ok()) return o.message();
  auto b = drive_new(o.value(), default_if);
  return b.ok() ? "ok" : b.message();
}

TEST_F(BlockOptionsTest, KeyvalDottedKeysBecomeNestedObjects) {
  auto kv = keyval_parse("driver=raw,node-name=r,file.driver=file,file.filename=/x,cache.direct=on",
                         "driver");
  ASSERT_TRUE(kv.ok());
  auto j = options_to_json(kv.value());
  ASSERT_TRUE(j.ok()) << j.message();
  EXPECT_EQ(j.value(), json({{"driver", "raw"},
                             {"node-name", "r"},
                             {"file", {{"driver", "file"}, {"filename", "/x"}}},
                             {"cache", {{"direct", "on"}}}}));
}

TEST_F(BlockOptionsTest, FileAndRawFromKeyval) {
  TempImage img(1 << 16, byte_pattern);
  EXPECT_EQ(keyval_error("driver=file,node-name=f0,filename=" + img.path() + ",aio=io_uring"),
            "ok");
  EXPECT_EQ(keyval_error("driver=raw,node-name=r0,file=f0,offset=4096,size=8192"), "ok");
  auto r = std::dynamic_pointer_cast<RawNode>(bdrv_find_node("r0"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->length(), 8192u);
  EXPECT_EQ(r->file_child(), bdrv_find_node("f0").get());
  auto blk = blk_new_named("d", r);
  ASSERT_TRUE(blk.ok());
  unsigned char buf[16];
  EXPECT_EQ(sync_io([&](auto cb) { blk.value()->preadv(10, {iovec{buf, 16}}, cb); }), 0);
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(buf[i], byte_pattern(4096 + 10 + i)) << i;
}

TEST_F(BlockOptionsTest, JsonFormWithNestedFile) {
  TempImage img(4096);
  EXPECT_EQ(
      add_error({{"driver", "raw"},
                 {"node-name", "r1"},
                 {"read-only", true},
                 {"cache", {{"direct", false}, {"no-flush", true}}},
                 {"file", {{"driver", "file"}, {"filename", img.path()}, {"locking", "off"}}}}),
      "ok");
  auto r = bdrv_find_node("r1");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->read_only());
  // Inline children inherit read-only and the cache options, and get a generated name.
  BlockDriverState* f = r->file_child();
  EXPECT_TRUE(f->read_only());
  EXPECT_TRUE(f->common().cache_no_flush);
  EXPECT_EQ(f->node_name().rfind("#block", 0), 0u) << f->node_name();
  EXPECT_EQ(f->common().discard, BlockdevDiscard::Unmap);
}

TEST_F(BlockOptionsTest, QapiErrors) {
  TempImage img(4096);
  EXPECT_EQ(add_error({{"driver", "file"}, {"node-name", "x"}, {"filename", "/nonexistent/a"}}),
            "Could not open '/nonexistent/a': No such file or directory");
  EXPECT_EQ(add_error({{"driver", "file"}, {"node-name", "x"}}), "Parameter 'filename' is missing");
  EXPECT_EQ(add_error({{"driver", "raw"}, {"node-name", "x"}, {"file", {{"driver", "file"}}}}),
            "Parameter 'file.filename' is missing");
  EXPECT_EQ(add_error({{"driver", "raw"}, {"node-name", "x"}}),
            "A block device must be specified for \"file\"");
  EXPECT_EQ(add_error({{"driver", "raw"}, {"node-name", "x"}, {"file", "nope"}}),
            "Cannot find device='nope' nor node-name='nope'");
  EXPECT_EQ(add_error({{"driver", "qcow2"}, {"node-name", "x"}}),
            "Parameter 'driver' does not accept value 'qcow2'");
  EXPECT_EQ(add_error({{"driver", "file"}, {"filename", img.path()}}),
            "'node-name' must be specified for the root node");
  EXPECT_EQ(
      add_error({{"driver", "file"}, {"node-name", "x"}, {"filename", img.path()}, {"bogus", 1}}),
      "Parameter 'bogus' is unexpected");
  EXPECT_EQ(
      add_error(
          {{"driver", "file"}, {"node-name", "x"}, {"filename", img.path()}, {"read-only", "on"}}),
      "Invalid parameter type for 'read-only', expected: boolean");
  EXPECT_EQ(
      add_error(
          {{"driver", "file"}, {"node-name", "x"}, {"filename", img.path()}, {"aio", "posix"}}),
      "Parameter 'aio' does not accept value 'posix'");
  EXPECT_EQ(
      add_error(
          {{"driver", "file"}, {"node-name", "x"}, {"filename", img.path()}, {"aio", "native"}}),
      "aio=native was specified, but it requires cache.direct=on, which was not specified.");
  EXPECT_EQ(add_error({{"driver", "file"}, {"node-name", "1x"}, {"filename", img.path()}}),
            "Invalid node-name: '1x'");
  EXPECT_EQ(add_error({{"driver", "file"}, {"node-name", "x"}, {"filename", img.path()}}), "ok");
  EXPECT_EQ(add_error({{"driver", "file"}, {"node-name", "x"}, {"filename", img.path()}}),
            "Duplicate nodes with node-name='x'");
  EXPECT_EQ(add_error({{"driver", "raw"}, {"node-name", "r"}, {"file", "x"}, {"size", 1000}}),
            "Specified size is not multiple of 512");
  EXPECT_EQ(add_error({{"driver", "raw"}, {"node-name", "r"}, {"file", "x"}, {"offset", 8192}}),
            "Offset (8192) cannot be greater than size of the containing file (4096)");
  // Nothing of the failed attempts stays open.
  EXPECT_EQ(bdrv_named_nodes().size(), 1u);
}

TEST_F(BlockOptionsTest, KeyvalErrors) {
  TempImage img(4096);
  EXPECT_EQ(keyval_error("driver=file,node-name=x,filename=" + img.path() + ",read-only=maybe"),
            "Parameter 'read-only' expects 'on' or 'off'");
  EXPECT_EQ(keyval_error("driver=raw,node-name=x,file=y,offset=abc"),
            "Parameter 'offset' expects integer");
  EXPECT_EQ(keyval_error("driver=file,node-name=x,filename=" + img.path() +
                         ",cache.direct=yes,cache.bogus=1"),
            "Parameter 'cache.bogus' is unexpected");
}

TEST_F(BlockOptionsTest, DriveErrors) {
  TempImage img(4096);
  std::string f = "file=" + img.path();
  EXPECT_EQ(drive_error(f + ",cache=bogus"), "invalid cache option");
  EXPECT_EQ(drive_error(f + ",aio=posix"), "invalid aio option");
  EXPECT_EQ(drive_error(f + ",werror=enospcx"), "'enospcx' invalid write error action");
  EXPECT_EQ(drive_error(f + ",rerror=enospc"), "'enospc' invalid read error action");
  EXPECT_EQ(drive_error(f + ",discard=maybe"), "Invalid discard option");
  EXPECT_EQ(drive_error(f + ",readonly=maybe"), "Parameter 'readonly' expects 'on' or 'off'");
  EXPECT_EQ(drive_error(f + ",format=qcow2"), "Unknown driver 'qcow2'");
  EXPECT_EQ(drive_error(f + ",bogus=1"), "Block format 'raw' does not support the option 'bogus'");
  EXPECT_EQ(drive_error(f + ",if=ide"), "machine type does not support if=ide,bus=0,unit=0");
  EXPECT_EQ(drive_error(f, "ide"), "machine type does not support if=ide,bus=0,unit=0");
  EXPECT_EQ(drive_error(f + ",if=scsi,unit=3"),
            "machine type does not support if=scsi,bus=0,unit=3");
  EXPECT_EQ(drive_error(f + ",if=usb"), "unsupported bus type 'usb'");
  EXPECT_EQ(drive_error(f + ",media=tape"), "'tape' invalid media");
  EXPECT_EQ(drive_error("file=/nonexistent/b,if=none"),
            "Could not open '/nonexistent/b': No such file or directory");
  EXPECT_EQ(drive_error(f + ",aio=native"),
            "aio=native was specified, but it requires cache.direct=on, which was not specified.");
  EXPECT_EQ(drive_error(f + ",detect-zeroes=unmap"),
            "setting detect-zeroes to unmap is not allowed without setting discard operation to "
            "unmap");
  EXPECT_TRUE(blk_all().empty());
  EXPECT_TRUE(bdrv_named_nodes().empty());
}

TEST_F(BlockOptionsTest, DriveIdsAndNames) {
  TempImage img(4096);
  std::string f = "file=" + img.path();
  EXPECT_EQ(drive_error(f + ",if=virtio"), "ok");
  EXPECT_EQ(drive_error(f + ",if=virtio,aio=io_uring,cache=none"), "ok");
  EXPECT_EQ(drive_error(f + ",if=none"), "ok");
  EXPECT_EQ(drive_error(f + ",if=virtio,id=mine"), "ok");
  EXPECT_TRUE(blk_by_name("virtio0"));
  EXPECT_TRUE(blk_by_name("virtio1"));
  EXPECT_TRUE(blk_by_name("none0"));
  EXPECT_EQ(drives_with_interface("virtio"),
            (std::vector<std::string>{"virtio0", "virtio1", "mine"}));
  EXPECT_EQ(drives_with_interface("none"), (std::vector<std::string>{"none0"}));
  auto* f1 = static_cast<FileNode*>(blk_by_name("virtio1")->root()->file_child());
  EXPECT_EQ(f1->engine_kind(), make_io_uring_engine() ? AioKind::IoUring : AioKind::Threads);
  EXPECT_EQ(drive_error(f + ",if=none,id=mine"), "Device with id 'mine' already exists");
  EXPECT_EQ(drive_error(f + ",if=none,id=n1,node-name=nn"), "ok");
  EXPECT_EQ(drive_error(f + ",if=none,id=nn"),
            "Device name 'nn' conflicts with an existing node name");
  EXPECT_EQ(add_error({{"driver", "file"}, {"node-name", "mine"}, {"filename", img.path()}}),
            "node-name=mine is conflicting with a device id");
}

}  // namespace
}  // namespace machina::testing
