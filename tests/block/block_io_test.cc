// I/O through a BlockBackend on raw/file nodes, with both engines (io_uring and the thread pool):
// reads, writes, flushes, discards, write-zeroes, the zero-filled tail past EOF, and O_DIRECT
// requests that need a bounce buffer.
#include <cstring>

#include <linux/falloc.h>

#include <thread>

#include "block/file-posix.h"
#include "block_test_util.h"
#include "util/bql.h"
#include "util/main-loop.h"

namespace machina::testing {
namespace {

struct EngineParam {
  const char* aio;
  AioKind kind;
};

class BlockIoTest : public BlockTest, public ::testing::WithParamInterface<EngineParam> {
 protected:
  void SetUp() override {
    if (GetParam().kind == AioKind::IoUring && !make_io_uring_engine()) {
      GTEST_SKIP() << "io_uring is not available here";
    }
  }

  // A backend on raw over file with this engine.
  BlockBackendPtr open(const TempImage& img, json extra_file = json::object(),
                       json extra_raw = json::object()) {
    json file = {{"driver", "file"}, {"filename", img.path()}, {"aio", GetParam().aio}};
    file.update(extra_file);
    json raw = {{"driver", "raw"}, {"node-name", "disk"}, {"file", file}};
    raw.update(extra_raw);
    auto node = bdrv_open_options(raw, OptSyntax::Qmp);
    EXPECT_TRUE(node.ok()) << node.message();
    if (!node.ok()) return nullptr;
    auto* f = static_cast<FileNode*>(node.value()->file_child());
    EXPECT_EQ(f->engine_kind(), GetParam().kind);
    auto blk = blk_new_named("d0", node.value());
    EXPECT_TRUE(blk.ok());
    return blk.value();
  }
};

TEST_P(BlockIoTest, CompletionsRunOnTheMainLoopWithTheBql) {
  TempImage img(65536, byte_pattern);
  auto blk = open(img);
  ASSERT_TRUE(blk);
  std::vector<char> buf(65536);
  bool done = false, had_bql = false;
  std::thread::id thread;
  blk->preadv(0, {iovec{buf.data(), buf.size()}}, [&](int r) {
    EXPECT_EQ(r, 0);
    done = true;
    had_bql = bql_locked();
    thread = std::this_thread::get_id();
  });
  for (int i = 0; i < 500 && !done; ++i) main_loop().run_once(10'000'000);
  ASSERT_TRUE(done);
  EXPECT_TRUE(had_bql);
  EXPECT_EQ(thread, std::this_thread::get_id());
  EXPECT_EQ(buf[1000], char(byte_pattern(1000)));
}

TEST_P(BlockIoTest, ReadsWhatIsInTheFile) {
  TempImage img(8192, byte_pattern);
  auto blk = open(img);
  ASSERT_TRUE(blk);
  EXPECT_EQ(blk->length(), 8192u);
  std::vector<char> a(1000), b(3000);
  int ret = sync_io([&](auto cb) {
    blk->preadv(1234, {iovec{a.data(), a.size()}, iovec{b.data(), b.size()}}, cb);
  });
  EXPECT_EQ(ret, 0);
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], char(byte_pattern(1234 + i))) << i;
  for (size_t i = 0; i < b.size(); ++i) ASSERT_EQ(b[i], char(byte_pattern(2234 + i))) << i;
}

TEST_P(BlockIoTest, WritesReachTheFileAndReadBack) {
  TempImage img(65536);
  auto blk = open(img);
  ASSERT_TRUE(blk);
  std::string data(5000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char('a' + i % 26);
  EXPECT_EQ(sync_io([&](auto cb) {
              blk->pwritev(4096 + 17,
                           {iovec{data.data(), 100}, iovec{data.data() + 100, data.size() - 100}},
                           cb);
            }),
            0);
  EXPECT_EQ(sync_io([&](auto cb) { blk->flush(cb); }), 0);
  EXPECT_EQ(img.contents().substr(4096 + 17, data.size()), data);
  EXPECT_EQ(img.contents()[4096 + 16], '\0');
  std::string back(data.size(), '\0');
  EXPECT_EQ(sync_io([&](auto cb) {
              blk->preadv(4096 + 17, {iovec{back.data(), back.size()}}, cb);
            }),
            0);
  EXPECT_EQ(back, data);
}

TEST_P(BlockIoTest, ManyRequestsInFlightAllComplete) {
  TempImage img(1 << 20);
  auto blk = open(img);
  ASSERT_TRUE(blk);
  // More than the io_uring ring holds at once.
  constexpr int kRequests = 300;
  std::vector<std::vector<char>> bufs(kRequests, std::vector<char>(512));
  int completed = 0, failed = 0;
  for (int i = 0; i < kRequests; ++i) {
    std::memset(bufs[i].data(), i & 0xff, 512);
    blk->pwritev(uint64_t(i) * 512, {iovec{bufs[i].data(), 512}}, [&](int r) {
      ++completed;
      if (r) ++failed;
    });
  }
  EXPECT_EQ(blk->in_flight(), size_t(kRequests));
  blk->drain();
  EXPECT_EQ(blk->in_flight(), 0u);
  EXPECT_EQ(completed, kRequests);
  EXPECT_EQ(failed, 0);
  std::string c = img.contents();
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(uint8_t(c[size_t(i) * 512 + 7]), i & 0xff) << i;
}

TEST_P(BlockIoTest, TailOfTheLastSectorReadsAsZeroes) {
  // 1000 bytes: the backend is one whole sector (1024), the rest reads as zeroes.
  TempImage img(1000, [](size_t) { return 0xab; });
  auto blk = open(img);
  ASSERT_TRUE(blk);
  EXPECT_EQ(blk->length(), 1024u);
  std::vector<unsigned char> buf(1024, 0x55);
  EXPECT_EQ(sync_io([&](auto cb) { blk->preadv(0, {iovec{buf.data(), buf.size()}}, cb); }), 0);
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(buf[i], 0xab) << i;
  for (size_t i = 1000; i < 1024; ++i) ASSERT_EQ(buf[i], 0) << i;
}

TEST_P(BlockIoTest, NodeReadPastEndOfFileIsZeroFilled) {
  TempImage img(4096, [](size_t) { return 0x11; });
  auto blk = open(img);
  ASSERT_TRUE(blk);
  BlockDriverState* file = blk->root()->file_child();
  std::vector<unsigned char> buf(8192, 0x77);
  EXPECT_EQ(sync_io([&](auto cb) { file->preadv(2048, {iovec{buf.data(), buf.size()}}, cb); }), 0);
  for (size_t i = 0; i < 2048; ++i) ASSERT_EQ(buf[i], 0x11) << i;
  for (size_t i = 2048; i < buf.size(); ++i) ASSERT_EQ(buf[i], 0) << i;
}

TEST_P(BlockIoTest, RequestsBeyondTheEndFailWithEio) {
  TempImage img(4096);
  auto blk = open(img);
  ASSERT_TRUE(blk);
  char buf[512];
  EXPECT_EQ(sync_io([&](auto cb) { blk->preadv(4096 - 256, {iovec{buf, 512}}, cb); }), -EIO);
  EXPECT_EQ(sync_io([&](auto cb) { blk->pwritev(8192, {iovec{buf, 512}}, cb); }), -EIO);
  EXPECT_EQ(img.size(), 4096u);
}

TEST_P(BlockIoTest, WriteZeroesZeroesTheRange) {
  TempImage img(65536, [](size_t) { return 0xff; });
  auto blk = open(img);
  ASSERT_TRUE(blk);
  EXPECT_EQ(sync_io([&](auto cb) { blk->write_zeroes(4096, 8192, false, cb); }), 0);
  std::string c = img.contents();
  EXPECT_EQ(uint8_t(c[4095]), 0xff);
  EXPECT_EQ(c.substr(4096, 8192), std::string(8192, '\0'));
  EXPECT_EQ(uint8_t(c[4096 + 8192]), 0xff);
  EXPECT_EQ(img.size(), 65536u);
}

TEST_P(BlockIoTest, WriteZeroesFallsBackToWritingZeroes) {
  // tmpfs has no FALLOC_FL_ZERO_RANGE: the zeroes are written, in several chunks.
  if (::access("/dev/shm", W_OK) != 0) GTEST_SKIP() << "no /dev/shm";
  constexpr size_t kSize = 3 << 20;
  TempImage img(
      kSize, [](size_t) { return 0xee; }, "/dev/shm");
  int fd = ::open(img.path().c_str(), O_RDWR);
  bool zero_range = ::fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 512) == 0;
  ::close(fd);
  if (zero_range) GTEST_SKIP() << "/dev/shm supports ZERO_RANGE here";
  auto blk = open(img);
  ASSERT_TRUE(blk);
  EXPECT_EQ(sync_io([&](auto cb) { blk->write_zeroes(512, (1 << 20) + (1 << 19), false, cb); }), 0);
  std::string c = img.contents();
  EXPECT_EQ(uint8_t(c[511]), 0xee);
  EXPECT_EQ(c.substr(512, (1 << 20) + (1 << 19)), std::string((1 << 20) + (1 << 19), '\0'));
  EXPECT_EQ(uint8_t(c[512 + (1 << 20) + (1 << 19)]), 0xee);
  EXPECT_EQ(img.size(), kSize);
}

TEST_P(BlockIoTest, DiscardWithUnmapPunchesAHole) {
  TempImage img(1 << 20, [](size_t) { return 0x5a; });
  ::sync();
  auto blk = open(img, json::object(), {{"discard", "unmap"}});
  ASSERT_TRUE(blk);
  uint64_t before = img.allocated();
  EXPECT_EQ(sync_io([&](auto cb) { blk->discard(0, 512 * 1024, cb); }), 0);
  EXPECT_LT(img.allocated(), before);
  EXPECT_EQ(img.size(), uint64_t(1 << 20));
  std::string c = img.contents();
  EXPECT_EQ(c.substr(0, 512 * 1024), std::string(512 * 1024, '\0'));
  EXPECT_EQ(uint8_t(c[512 * 1024]), 0x5a);
}

TEST_P(BlockIoTest, DiscardIsIgnoredByDefault) {
  TempImage img(65536, [](size_t) { return 0x5a; });
  auto blk = open(img);
  ASSERT_TRUE(blk);
  EXPECT_EQ(sync_io([&](auto cb) { blk->discard(0, 65536, cb); }), 0);
  EXPECT_EQ(img.contents(), std::string(65536, '\x5a'));
}

TEST_P(BlockIoTest, ODirectBouncesMisalignedRequests) {
  TempImage img(65536, byte_pattern);
  auto blk = open(img, {{"cache", {{"direct", true}}}});
  ASSERT_TRUE(blk);
  auto* f = static_cast<FileNode*>(blk->root()->file_child());
  ASSERT_GT(f->request_alignment(), 1u);
  EXPECT_TRUE(::fcntl(f->fd(), F_GETFL) & O_DIRECT);
  // Misaligned offset, length and buffer.
  std::vector<char> storage(10000);
  char* buf = storage.data() + 3;
  EXPECT_EQ(sync_io([&](auto cb) { blk->preadv(777, {iovec{buf, 5000}}, cb); }), 0);
  for (size_t i = 0; i < 5000; ++i) ASSERT_EQ(buf[i], char(byte_pattern(777 + i))) << i;
  std::memset(buf, 'Q', 333);
  EXPECT_EQ(sync_io([&](auto cb) { blk->pwritev(4097, {iovec{buf, 333}}, cb); }), 0);
  std::string c = img.contents();
  EXPECT_EQ(c.substr(4097, 333), std::string(333, 'Q'));
  EXPECT_EQ(c[4096], char(byte_pattern(4096)));
  EXPECT_EQ(c[4097 + 333], char(byte_pattern(4097 + 333)));
  EXPECT_EQ(img.size(), 65536u);
  // Aligned offset and length in a misaligned buffer.
  std::memset(buf, 'R', 4096);
  EXPECT_EQ(sync_io([&](auto cb) { blk->pwritev(8192, {iovec{buf, 4096}}, cb); }), 0);
  EXPECT_EQ(img.contents().substr(8192, 4096), std::string(4096, 'R'));
}

TEST_P(BlockIoTest, WritesToAReadOnlyBackendFailWithEacces) {
  TempImage img(4096, [](size_t) { return 1; });
  auto blk = open(img, json::object(), {{"read-only", true}});
  ASSERT_TRUE(blk);
  EXPECT_TRUE(blk->is_read_only());
  char buf[512] = {};
  EXPECT_EQ(sync_io([&](auto cb) { blk->pwritev(0, {iovec{buf, 512}}, cb); }), -EACCES);
  EXPECT_EQ(sync_io([&](auto cb) { blk->write_zeroes(0, 512, false, cb); }), -EACCES);
  EXPECT_EQ(sync_io([&](auto cb) { blk->discard(0, 512, cb); }), -EACCES);
  EXPECT_EQ(sync_io([&](auto cb) { blk->preadv(0, {iovec{buf, 512}}, cb); }), 0);
  EXPECT_EQ(buf[0], 1);
  // The file child inherited read-only: the fd is O_RDONLY.
  auto* f = static_cast<FileNode*>(blk->root()->file_child());
  EXPECT_EQ(::fcntl(f->fd(), F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(img.contents()[0], 1);
}

TEST_F(BlockTest, IoUringFallsBackToTheThreadPool) {
  aio_engine_simulate_io_uring_failure(true);
  TempImage img(4096, byte_pattern);
  auto node = bdrv_open_options(
      {{"driver", "file"}, {"node-name", "f"}, {"filename", img.path()}, {"aio", "io_uring"}},
      OptSyntax::Qmp);
  aio_engine_simulate_io_uring_failure(false);
  ASSERT_TRUE(node.ok()) << node.message();
  EXPECT_EQ(static_cast<FileNode*>(node.value().get())->engine_kind(), AioKind::Threads);
  char buf[100];
  EXPECT_EQ(sync_io([&](auto cb) { node.value()->preadv(50, {iovec{buf, 100}}, cb); }), 0);
  EXPECT_EQ(buf[99], char(byte_pattern(149)));
}

INSTANTIATE_TEST_SUITE_P(Engines, BlockIoTest,
                         ::testing::Values(EngineParam{"threads", AioKind::Threads},
                                           EngineParam{"io_uring", AioKind::IoUring}),
                         [](const auto& info) { return std::string(info.param.aio); });

}  // namespace
}  // namespace machina::testing
