// BlockBackend policies: cache modes from -drive, writethrough flushes, werror/rerror decisions,
// the BLOCK_IO_ERROR stop path (I/O status, io-error run state), empty drives.
#include "block/blockdev.h"
#include "block/file-posix.h"
#include "block_test_util.h"
#include "system/runstate.h"

namespace machina::testing {
namespace {

// A node that records what reaches it and completes everything with `result`.
class RecordingNode : public BlockDriverState {
 public:
  explicit RecordingNode(BlockdevDetectZeroes dz = BlockdevDetectZeroes::Off)
      : BlockDriverState(
            BlockNodeCommon{.driver = "raw", .node_name = "rec", .detect_zeroes = dz}) {}
  std::string filename() const override { return "rec"; }
  uint64_t length() const override { return 1 << 20; }
  void preadv(uint64_t, std::vector<iovec>, Callback cb) override { done("read", cb); }
  void pwritev(uint64_t, std::vector<iovec>, Callback cb) override { done("write", cb); }
  void flush(Callback cb) override { done("flush", cb); }
  void discard(uint64_t, uint64_t, Callback cb) override { done("discard", cb); }
  void write_zeroes(uint64_t, uint64_t, bool, Callback cb) override { done("zeroes", cb); }
  std::vector<std::string> log;
  int result = 0;

 private:
  void done(const char* what, Callback cb) {
    log.push_back(what);
    block_defer_cb(cb, result);
  }
};

using BlockBackendTest = BlockTest;

QemuOpts drive_opts(const std::string& text) {
  static const OptsListSpec spec{"drive", "", false, {}};
  auto o = qemu_opts_parse(spec, text, false);
  EXPECT_TRUE(o.ok()) << o.message();
  return o.ok() ? o.value() : QemuOpts{};
}

TEST_F(BlockBackendTest, CacheModesMapAsQemu) {
  struct Case {
    const char* mode;
    bool wce, direct, no_flush;
  } cases[] = {{"writeback", true, false, false},
               {"none", true, true, false},
               {"writethrough", false, false, false},
               {"directsync", false, true, false},
               {"unsafe", true, false, true}};
  TempImage img(4096);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.mode);
    auto blk =
        drive_new(drive_opts("file=" + img.path() + ",if=none,id=c,cache=" + c.mode), "none");
    ASSERT_TRUE(blk.ok()) << blk.message();
    EXPECT_EQ(blk.value()->enable_write_cache(), c.wce);
    const BlockNodeCommon& root = blk.value()->root()->common();
    EXPECT_EQ(root.cache_direct, c.direct);
    EXPECT_EQ(root.cache_no_flush, c.no_flush);
    auto* file = static_cast<FileNode*>(blk.value()->root()->file_child());
    EXPECT_EQ(bool(::fcntl(file->fd(), F_GETFL) & O_DIRECT), c.direct);
    EXPECT_EQ(file->common().cache_no_flush, c.no_flush);
    blk = Error{};
    bdrv_close_all();
  }
}

TEST_F(BlockBackendTest, DriveDefaultsAreEnospcAndReport) {
  TempImage img(4096);
  auto blk = drive_new(drive_opts("file=" + img.path() + ",if=none,id=d"), "none");
  ASSERT_TRUE(blk.ok()) << blk.message();
  EXPECT_EQ(blk.value()->on_write_error(), BlockdevOnError::Enospc);
  EXPECT_EQ(blk.value()->on_read_error(), BlockdevOnError::Report);
  EXPECT_EQ(blk.value()->root()->driver(), "raw");
  EXPECT_EQ(blk.value()->root()->file_child()->driver(), "file");
  EXPECT_EQ(blk.value()->name(), "d");
  EXPECT_TRUE(blk.value()->enable_write_cache());
}

TEST_F(BlockBackendTest, WritethroughFlushesAfterEveryWrite) {
  auto node = std::make_shared<RecordingNode>();
  BlockBackend blk("", node);
  char buf[512];
  blk.set_enable_write_cache(false);
  EXPECT_EQ(sync_io([&](auto cb) { blk.pwritev(0, {iovec{buf, 512}}, cb); }), 0);
  EXPECT_EQ(node->log, (std::vector<std::string>{"write", "flush"}));
  node->log.clear();
  EXPECT_EQ(sync_io([&](auto cb) { blk.write_zeroes(0, 512, true, cb); }), 0);
  EXPECT_EQ(node->log, (std::vector<std::string>{"zeroes", "flush"}));
  node->log.clear();
  blk.set_enable_write_cache(true);
  EXPECT_EQ(sync_io([&](auto cb) { blk.pwritev(0, {iovec{buf, 512}}, cb); }), 0);
  EXPECT_EQ(node->log, (std::vector<std::string>{"write"}));
}

TEST_F(BlockBackendTest, DetectZeroesTurnsZeroWritesIntoWriteZeroes) {
  auto node = std::make_shared<RecordingNode>(BlockdevDetectZeroes::On);
  BlockBackend blk("", node);
  std::vector<char> zeroes(4096), data(4096);
  data[4095] = 1;
  EXPECT_EQ(sync_io([&](auto cb) { blk.pwritev(0, {iovec{zeroes.data(), 4096}}, cb); }), 0);
  EXPECT_EQ(sync_io([&](auto cb) { blk.pwritev(0, {iovec{data.data(), 4096}}, cb); }), 0);
  EXPECT_EQ(node->log, (std::vector<std::string>{"zeroes", "write"}));
  EXPECT_EQ(blk.in_flight(), 0u);
  auto plain = std::make_shared<RecordingNode>();
  BlockBackend blk2("", plain);
  EXPECT_EQ(sync_io([&](auto cb) { blk2.pwritev(0, {iovec{zeroes.data(), 4096}}, cb); }), 0);
  EXPECT_EQ(plain->log, (std::vector<std::string>{"write"}));
}

TEST_F(BlockBackendTest, FailedWriteIsNotFlushedAndReportsTheError) {
  auto node = std::make_shared<RecordingNode>();
  node->result = -ENOSPC;
  BlockBackend blk("", node);
  blk.set_enable_write_cache(false);
  char buf[512];
  EXPECT_EQ(sync_io([&](auto cb) { blk.pwritev(0, {iovec{buf, 512}}, cb); }), -ENOSPC);
  EXPECT_EQ(node->log, (std::vector<std::string>{"write"}));
}

TEST_F(BlockBackendTest, UnsafeCacheMakesFlushANoOp) {
  TempImage img(4096);
  auto blk = drive_new(drive_opts("file=" + img.path() + ",if=none,id=u,cache=unsafe"), "none");
  ASSERT_TRUE(blk.ok()) << blk.message();
  // The fd is closed under the node: a real fdatasync would fail with EBADF.
  auto* file = static_cast<FileNode*>(blk.value()->root()->file_child());
  int saved = ::dup(file->fd());
  ::close(file->fd());
  EXPECT_EQ(sync_io([&](auto cb) { blk.value()->flush(cb); }), 0);
  ::dup2(saved, file->fd());
  ::close(saved);
  auto wb = drive_new(drive_opts("file=" + img.path() + ",if=none,id=w,cache=writeback"), "none");
  ASSERT_TRUE(wb.ok());
  auto* f2 = static_cast<FileNode*>(wb.value()->root()->file_child());
  saved = ::dup(f2->fd());
  ::close(f2->fd());
  EXPECT_EQ(sync_io([&](auto cb) { wb.value()->flush(cb); }), -EBADF);
  ::dup2(saved, f2->fd());
  ::close(saved);
}

TEST_F(BlockBackendTest, ErrorActionPolicyAsQemu) {
  BlockBackend blk("", nullptr);
  struct Case {
    BlockdevOnError policy;
    int error;
    BlockErrorAction expected;
  } cases[] = {
      {BlockdevOnError::Report, ENOSPC, BlockErrorAction::Report},
      {BlockdevOnError::Report, EIO, BlockErrorAction::Report},
      {BlockdevOnError::Ignore, EIO, BlockErrorAction::Ignore},
      {BlockdevOnError::Stop, EIO, BlockErrorAction::Stop},
      {BlockdevOnError::Stop, ENOSPC, BlockErrorAction::Stop},
      {BlockdevOnError::Enospc, ENOSPC, BlockErrorAction::Stop},
      {BlockdevOnError::Enospc, -ENOSPC, BlockErrorAction::Stop},
      {BlockdevOnError::Enospc, EIO, BlockErrorAction::Report},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(blockdev_on_error_name(c.policy)) + " " + std::to_string(c.error));
    blk.set_on_error(BlockdevOnError::Report, c.policy);
    EXPECT_EQ(blk.get_error_action(false, c.error), c.expected);
    EXPECT_EQ(blk.get_error_action(true, c.error), BlockErrorAction::Report);
    blk.set_on_error(c.policy, BlockdevOnError::Report);
    EXPECT_EQ(blk.get_error_action(true, c.error), c.expected);
  }
}

TEST_F(BlockBackendTest, StopActionStopsTheVmWithIoErrorAndSetsIoStatus) {
  TempImage img(4096);
  auto blk = drive_new(drive_opts("file=" + img.path() + ",if=none,id=s,werror=stop"), "none");
  ASSERT_TRUE(blk.ok()) << blk.message();
  BlockBackend& b = *blk.value();
  EXPECT_FALSE(b.iostatus_is_enabled());  // no device yet
  b.set_attached_dev("/machine/peripheral/vd0/virtio-backend", "vd0");
  EXPECT_TRUE(b.iostatus_is_enabled());
  vm_start();
  ASSERT_EQ(runstate(), RunState::Running);
  b.error_action(b.get_error_action(false, ENOSPC), false, ENOSPC);
  EXPECT_EQ(runstate(), RunState::IoError);
  EXPECT_STREQ(runstate_name(runstate()), "io-error");
  EXPECT_EQ(b.iostatus(), BlockDeviceIoStatus::Nospace);
  vm_start();
  EXPECT_EQ(b.iostatus(), BlockDeviceIoStatus::Ok);
  b.error_action(BlockErrorAction::Report, false, EIO);
  EXPECT_EQ(runstate(), RunState::Running);
  EXPECT_EQ(b.iostatus(), BlockDeviceIoStatus::Ok);
  vm_stop();
}

TEST_F(BlockBackendTest, BlockIoErrorEventData) {
  TempImage img(4096);
  auto blk = drive_new(drive_opts("file=" + img.path() + ",if=none,id=ev,node-name=evn"), "none");
  ASSERT_TRUE(blk.ok()) << blk.message();
  BlockBackend& b = *blk.value();
  EXPECT_EQ(b.io_error_event_data(BlockErrorAction::Report, true, EIO),
            json({{"device", "ev"},
                  {"node-name", "evn"},
                  {"operation", "read"},
                  {"action", "report"},
                  {"reason", "Input/output error"}}));
  b.set_attached_dev("/machine/peripheral/vd0/virtio-backend", "vd0");
  EXPECT_EQ(b.io_error_event_data(BlockErrorAction::Stop, false, -ENOSPC),
            json({{"device", "ev"},
                  {"node-name", "evn"},
                  {"operation", "write"},
                  {"action", "stop"},
                  {"nospace", true},
                  {"reason", "No space left on device"}}));
}

TEST_F(BlockBackendTest, DriveWithoutFileHasNoMedium) {
  auto blk = drive_new(drive_opts("if=none,id=empty"), "none");
  ASSERT_TRUE(blk.ok()) << blk.message();
  EXPECT_FALSE(blk.value()->is_inserted());
  EXPECT_EQ(blk.value()->length(), 0u);
  char buf[512];
  EXPECT_EQ(sync_io([&](auto cb) { blk.value()->preadv(0, {iovec{buf, 512}}, cb); }), -ENOMEDIUM);
}

TEST_F(BlockBackendTest, DrainWaitsForEverything) {
  TempImage img(1 << 20);
  auto blk = drive_new(drive_opts("file=" + img.path() + ",if=none,id=dr,aio=io_uring"), "none");
  ASSERT_TRUE(blk.ok()) << blk.message();
  std::vector<char> buf(65536, 'z');
  int done = 0;
  for (int i = 0; i < 16; ++i) {
    blk.value()->pwritev(uint64_t(i) * 65536, {iovec{buf.data(), buf.size()}},
                         [&](int r) { done += r == 0; });
  }
  blk.value()->flush([&](int r) { done += r == 0; });
  EXPECT_EQ(blk.value()->in_flight(), 17u);
  blk.value()->drain();
  EXPECT_EQ(done, 17);
  EXPECT_EQ(img.contents(), std::string(1 << 20, 'z'));
}

}  // namespace
}  // namespace machina::testing
