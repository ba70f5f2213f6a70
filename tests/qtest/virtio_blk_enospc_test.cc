// werror=enospc on a real full filesystem: the image lives on a small tmpfs (in a mount namespace
// of this test process's own) that another file has filled. A guest write into a hole of the
// image fails with ENOSPC → BLOCK_IO_ERROR with nospace, the VM stops in io-error; once space is
// freed, `cont` retries the request and it completes with the data on the host file. A different
// error under werror=enospc is reported to the guest instead (the difference from werror=stop).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "qtest/blk_test_images.h"
#include "qtest/harness.h"
#include "qtest/virtio_driver.h"

namespace machina::qtest {
namespace {

constexpr int kBlkDevfn = 7 << 3;
constexpr uint64_t kVersion1 = 1ull << 32;
constexpr uint32_t kTOut = 1;
constexpr uint8_t kSOk = 0, kSIoErr = 1;
constexpr size_t kChunk = 4096;

// A tmpfs of `kib` KiB mounted on a fresh directory in a private mount namespace.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(int kib) {
    if (unshare(CLONE_NEWNS) != 0) {
      error_ = std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
      return;
    }
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      error_ = std::string("making / private: ") + std::strerror(errno);
      return;
    }
    char tmpl[] = "/tmp/machina-enospc-XXXXXX";
    if (!mkdtemp(tmpl)) {
      error_ = std::string("mkdtemp: ") + std::strerror(errno);
      return;
    }
    dir_ = tmpl;
    std::string opts = "size=" + std::to_string(kib) + "k";
    if (mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      error_ = std::string("mount tmpfs: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~SmallTmpfs() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
    if (!dir_.empty()) rmdir(dir_.c_str());
  }
  bool ok() const { return mounted_; }
  const std::string& error() const { return error_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_, error_;
  bool mounted_ = false;
};

// Creates a sparse file of `size` bytes.
void make_sparse(const std::string& path, off_t size) {
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(ftruncate(fd, size), 0);
  ::close(fd);
}

// Writes `path` until the filesystem is full; returns the bytes written.
size_t fill(const std::string& path) {
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  EXPECT_GE(fd, 0);
  std::vector<char> buf(kChunk, 'f');
  size_t total = 0;
  for (;;) {
    ssize_t n = ::write(fd, buf.data(), buf.size());
    if (n <= 0) break;
    total += size_t(n);
  }
  EXPECT_EQ(errno, ENOSPC);
  ::close(fd);
  return total;
}

std::string file_bytes(const std::string& path, off_t off, size_t len) {
  std::string out(len, '\0');
  int fd = ::open(path.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::pread(fd, out.data(), len, off), ssize_t(len));
  ::close(fd);
  return out;
}

// A 4 KiB write request of `fill_byte` at `sector`, kicked; returns the status byte's address.
uint64_t submit_write(QTestMachine& m, GuestAlloc& alloc, VirtioPciDriver& d, VirtioQueue& q,
                      uint64_t sector, uint8_t fill_byte) {
  uint64_t hdr = alloc.alloc(16), data = alloc.alloc(kChunk), status = alloc.alloc(1);
  m.writel(hdr, kTOut);
  m.writeq(hdr + 8, sector);
  mem_write(m, data, std::vector<uint8_t>(kChunk, fill_byte));
  m.writeb(status, 0xff);
  d.add_chain(q, {{hdr, 16, false}, {data, uint32_t(kChunk), false}, {status, 1, true}});
  d.kick(q);
  return status;
}

class VirtioBlkEnospc : public ::testing::TestWithParam<const char*> {};

TEST_P(VirtioBlkEnospc, FullFilesystemStopsTheVmAndContRetriesOnceThereIsSpace) {
  SmallTmpfs fs(256);
  if (!fs.ok()) GTEST_SKIP() << "no private tmpfs: " << fs.error();
  const std::string img = fs.path("disk.img"), filler = fs.path("filler");
  make_sparse(img, 1 << 20);
  QTestMachine m(std::string("-M q35 -drive if=none,id=d0,format=raw,werror=enospc,aio=") +
                 GetParam() + ",file=" + img + " -device virtio-blk-pci,addr=7,id=vblk0,drive=d0");
  ASSERT_TRUE(m.ok()) << m.error();
  ASSERT_GT(fill(filler), 0u);

  GuestAlloc alloc;
  VirtioPciDriver d(m, alloc, kBlkDevfn);
  ASSERT_TRUE(d.negotiate(kVersion1));
  VirtioQueue q = d.setup_queue(0);
  d.driver_ok();
  uint64_t status = submit_write(m, alloc, d, q, 64, 0x5a);  // 32 KiB: a hole in the image

  auto ev = m.wait_event("BLOCK_IO_ERROR");
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["data"]["action"], "stop") << ev->dump();
  EXPECT_EQ((*ev)["data"]["operation"], "write");
  EXPECT_EQ((*ev)["data"]["device"], "d0");
  EXPECT_EQ((*ev)["data"]["nospace"], true) << ev->dump();
  EXPECT_TRUE(m.wait_event("STOP"));
  EXPECT_EQ(m.qmp("query-status")["return"]["status"], "io-error");
  json blocks = m.qmp("query-block")["return"];
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0]["io-status"], "nospace") << blocks.dump();
  EXPECT_FALSE(d.wait_used(q, 100)) << "the request waits for cont";

  // Still full: cont retries, fails the same way, stops again.
  m.qmp("cont");
  ev = m.wait_event("BLOCK_IO_ERROR");
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["data"]["nospace"], true);
  EXPECT_EQ(m.qmp("query-status")["return"]["status"], "io-error");

  // Space freed: cont retries and the write lands.
  ASSERT_EQ(::unlink(filler.c_str()), 0);
  m.qmp("cont");
  ASSERT_TRUE(d.wait_used(q));
  EXPECT_EQ(m.readb(status), kSOk);
  EXPECT_EQ(m.qmp("query-status")["return"]["status"], "running");
  EXPECT_EQ(m.qmp("query-block")["return"][0]["io-status"], "ok");
  EXPECT_EQ(file_bytes(img, 64 * 512, kChunk), std::string(kChunk, '\x5a'));
  m.qmp_client().drain(Ms(100));
  for (const json& e : m.qmp_client().events())
    EXPECT_NE(e["event"], "BLOCK_IO_ERROR") << "after the retry: " << e.dump();
  m.quit();
}

INSTANTIATE_TEST_SUITE_P(Aio, VirtioBlkEnospc, ::testing::Values("io_uring", "threads"));

TEST(VirtioBlkEnospcPolicy, OtherErrorsAreReportedToTheGuest) {
  // EFBIG (RLIMIT_FSIZE at 512 KiB over a 1 MiB image) is not ENOSPC: werror=enospc reports it
  // (VIRTIO_BLK_S_IOERR, action "report"), the VM keeps running.
  TempPath img(".img");
  make_sparse(img.str(), 1 << 20);
  auto mp = start_with_file_size_limit(
      "-M q35 -drive if=none,id=d0,format=raw,aio=threads,werror=enospc,file=" + img.str() +
          " -device virtio-blk-pci,addr=7,id=vblk0,drive=d0",
      512 * 1024);
  QTestMachine& m = *mp;
  ASSERT_TRUE(m.ok()) << m.error();
  GuestAlloc alloc;
  VirtioPciDriver d(m, alloc, kBlkDevfn);
  ASSERT_TRUE(d.negotiate(kVersion1));
  VirtioQueue q = d.setup_queue(0);
  d.driver_ok();
  uint64_t status = submit_write(m, alloc, d, q, 1536, 0x33);  // 768 KiB
  auto ev = m.wait_event("BLOCK_IO_ERROR");
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["data"]["action"], "report") << ev->dump();
  EXPECT_EQ((*ev)["data"]["nospace"], false) << ev->dump();
  ASSERT_TRUE(d.wait_used(q));
  EXPECT_EQ(m.readb(status), kSIoErr);
  EXPECT_EQ(m.qmp("query-status")["return"]["status"], "running");
  m.quit();
}

}  // namespace
}  // namespace machina::qtest
