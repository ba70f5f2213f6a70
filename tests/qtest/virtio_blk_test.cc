// virtio-blk-pci on a raw image, driven through qtest as Linux's virtio_blk does: discovery and
// configuration, reads and writes checked against the host file, flush, get-id, discard and
// write-zeroes, range errors, read-only drives, a malformed request → NEEDS_RESET, and the
// werror policy (stop → io-error, BLOCK_IO_ERROR, cont retries).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>

#include <cstring>
#include <fstream>

#include "qtest/blk_test_images.h"
#include "qtest/hw_pc_qtest.h"
#include "qtest/virtio_driver.h"

namespace machina::qtest {
namespace {

constexpr int kBlkDevfn = 7 << 3;
constexpr uint64_t kVersion1 = 1ull << 32;
constexpr uint64_t kImageSize = 1 << 20;
constexpr uint32_t kTIn = 0, kTOut = 1, kTFlush = 4, kTGetId = 8, kTDiscard = 11,
                   kTWriteZeroes = 13;
constexpr unsigned kFRo = 5, kFBlkSize = 6, kFFlush = 9, kFConfigWce = 11, kFDiscard = 13,
                   kFWriteZeroes = 14, kFSegMax = 2, kFMq = 12;

class VirtioBlkTest : public PcQtest {
 protected:
  void SetUp() override {
    img_ = std::make_unique<TempPath>(".img");
    write_pattern_image(img_->str(), kImageSize);
  }
  void start_blk(const std::string& drive_opts = "", const std::string& dev_opts = "") {
    start("-drive if=none,id=d0,format=raw,file=" + img_->str() + drive_opts +
          " -device virtio-blk-pci,addr=7,id=vblk0,drive=d0,serial=MACHINA-SN1" + dev_opts);
    d_ = std::make_unique<VirtioPciDriver>(m(), alloc_, kBlkDevfn);
    ASSERT_TRUE(d_->found());
  }
  void bring_up(uint64_t features) {
    ASSERT_TRUE(d_->negotiate(kVersion1 | features));
    q_ = d_->setup_queue(0);
    d_->driver_ok();
  }
  std::vector<uint8_t> file_bytes(uint64_t off, size_t len) {
    std::vector<uint8_t> out(len);
    int fd = ::open(img_->str().c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::pread(fd, out.data(), len, off_t(off)), ssize_t(len));
    ::close(fd);
    return out;
  }
  // One request: header, optional payload (device-readable for writes and discards,
  // device-writable for reads), status. Returns {status, used length}; the payload address in
  // `data_addr`.
  std::pair<uint8_t, uint32_t> request(uint32_t type, uint64_t sector,
                                       const std::vector<uint8_t>& out_payload, uint32_t in_len = 0,
                                       uint64_t* data_addr = nullptr,
                                       VirtioQueue* queue = nullptr) {
    VirtioQueue& q = queue ? *queue : q_;
    uint64_t hdr = alloc_.alloc(16);
    uint8_t h[16] = {};
    std::memcpy(h, &type, 4);
    std::memcpy(h + 8, &sector, 8);
    mem_write(m(), hdr, std::vector<uint8_t>(h, h + 16));
    uint64_t status = alloc_.alloc(1);
    m().writeb(status, 0xff);
    std::vector<VirtioBuf> bufs = {{hdr, 16, false}};
    if (!out_payload.empty()) {
      uint64_t p = alloc_.alloc(out_payload.size());
      mem_write(m(), p, out_payload);
      bufs.push_back({p, uint32_t(out_payload.size()), false});
      if (data_addr) *data_addr = p;
    }
    if (in_len) {
      uint64_t p = alloc_.alloc(in_len);
      bufs.push_back({p, in_len, true});
      if (data_addr) *data_addr = p;
    }
    bufs.push_back({status, 1, true});
    d_->add_chain(q, bufs);
    d_->kick(q);
    auto used = d_->wait_used(q);
    if (!used) {
      ADD_FAILURE() << "request not completed";
      return {0xff, 0};
    }
    return {m().readb(status), used->second};
  }
  static std::vector<uint8_t> segment(uint64_t sector, uint32_t n, uint32_t flags) {
    std::vector<uint8_t> s(16);
    std::memcpy(s.data(), &sector, 8);
    std::memcpy(s.data() + 8, &n, 4);
    std::memcpy(s.data() + 12, &flags, 4);
    return s;
  }

  std::unique_ptr<TempPath> img_;
  GuestAlloc alloc_;
  std::unique_ptr<VirtioPciDriver> d_;
  VirtioQueue q_;
};

TEST_F(VirtioBlkTest, DiscoveryFeaturesAndConfig) {
  start_blk();
  EXPECT_EQ(d_->pci().read(0x02, 2), 0x1001u);  // transitional on pcie.0 (as QEMU)
  EXPECT_EQ(d_->pci().read(0x0a, 2), 0x0100u);
  uint64_t f = d_->device_features();
  for (unsigned bit : {kFSegMax, kFBlkSize, kFFlush, kFConfigWce, kFDiscard, kFWriteZeroes}) {
    EXPECT_TRUE(f & (1ull << bit)) << bit;
  }
  EXPECT_FALSE(f & (1ull << kFRo));
  EXPECT_EQ(m().readq(d_->device_cfg()), kImageSize / 512);  // capacity
  EXPECT_EQ(m().readl(d_->device_cfg() + 20), 512u);         // blk_size
  EXPECT_EQ(m().readl(d_->device_cfg() + 12), 254u);         // seg_max
  auto blocks = m().qmp("query-block")["return"];
  ASSERT_EQ(blocks.size(), 1u) << blocks.dump();
  EXPECT_EQ(blocks[0]["qdev"], "/machine/peripheral/vblk0/virtio-backend") << blocks.dump();
}

TEST_F(VirtioBlkTest, ReadMatchesTheImage) {
  start_blk();
  bring_up(1ull << kFFlush);
  uint64_t data = 0;
  auto [status, len] = request(kTIn, 3, {}, 1024, &data);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(len, 1025u);
  EXPECT_EQ(mem_read(m(), data, 1024), file_bytes(3 * 512, 1024));
}

TEST_F(VirtioBlkTest, WriteAndFlushReachTheFile) {
  start_blk(",cache=writeback");
  bring_up(1ull << kFFlush);
  std::vector<uint8_t> payload(2048);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = uint8_t(0xa5 ^ i);
  EXPECT_EQ(request(kTOut, 10, payload).first, 0);
  EXPECT_EQ(request(kTFlush, 0, {}).first, 0);
  EXPECT_EQ(file_bytes(10 * 512, 2048), payload);
}

TEST_F(VirtioBlkTest, GetIdReturnsTheSerial) {
  start_blk();
  bring_up(0);
  uint64_t data = 0;
  auto [status, len] = request(kTGetId, 0, {}, 20, &data);
  EXPECT_EQ(status, 0);
  auto id = mem_read(m(), data, 20);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(id.data())), "MACHINA-SN1");
}

TEST_F(VirtioBlkTest, OutOfRangeAndUnknownRequests) {
  start_blk();
  bring_up(0);
  EXPECT_EQ(request(kTIn, kImageSize / 512 - 1, {}, 1024).first, 1);  // IOERR: past the end
  EXPECT_EQ(request(kTIn, 0, {}, 100).first, 1);                      // not whole sectors
  EXPECT_EQ(request(99, 0, {}).first, 2);                             // UNSUPP
  EXPECT_EQ(d_->status() & 0x40, 0);
}

TEST_F(VirtioBlkTest, DiscardAndWriteZeroes) {
  start_blk();
  bring_up((1ull << kFDiscard) | (1ull << kFWriteZeroes));
  EXPECT_EQ(request(kTWriteZeroes, 8, segment(8, 4, 0)).first, 0);
  EXPECT_EQ(file_bytes(8 * 512, 2048), std::vector<uint8_t>(2048, 0));
  EXPECT_NE(file_bytes(12 * 512, 512), std::vector<uint8_t>(512, 0)) << "only the range";
  EXPECT_EQ(request(kTDiscard, 0, segment(16, 8, 0)).first, 0);
  EXPECT_EQ(request(kTDiscard, 0, segment(kImageSize / 512, 8, 0)).first, 1);  // past the end
}

TEST_F(VirtioBlkTest, ReadOnlyDriveRefusesWrites) {
  start_blk(",readonly=on");
  EXPECT_TRUE(d_->device_features() & (1ull << kFRo));
  bring_up(1ull << kFRo);
  auto before = file_bytes(0, 512);
  EXPECT_EQ(request(kTOut, 0, std::vector<uint8_t>(512, 0x11)).first, 1);
  EXPECT_EQ(file_bytes(0, 512), before);
}

TEST_F(VirtioBlkTest, MissingHeaderNeedsReset) {
  start_blk();
  bring_up(0);
  uint64_t hdr = alloc_.alloc(8);
  d_->add_chain(q_, {{hdr, 8, false}, {alloc_.alloc(1), 1, true}});
  d_->kick(q_);
  EXPECT_TRUE(d_->wait_needs_reset());
  EXPECT_EQ(m().qmp("query-status")["return"]["status"], "running");
  // Reset and it works again.
  d_->reset();
  bring_up(0);
  EXPECT_EQ(request(kTIn, 0, {}, 512).first, 0);
}

TEST(VirtioBlkErrors, WriteErrorStopsTheVmAndContRetries) {
  // Writes past the file size limit fail (EFBIG): machina is started with RLIMIT_FSIZE at
  // 512 KiB over a 1 MiB image, so the second half of the disk cannot be written.
  TempPath img(".img");
  {
    std::ofstream f(img.str(), std::ios::binary);
    f.seekp((1 << 20) - 1);
    f.put(0);
  }
  auto mp = start_with_file_size_limit(
      "-M q35 -drive if=none,id=d0,format=raw,aio=threads,werror=stop,file=" + img.str() +
          " -device virtio-blk-pci,addr=7,id=vblk0,drive=d0",
      512 * 1024);
  QTestMachine& m = *mp;
  ASSERT_TRUE(m.ok()) << m.error();
  GuestAlloc alloc;
  VirtioPciDriver d(m, alloc, kBlkDevfn);
  ASSERT_TRUE(d.negotiate(kVersion1));
  VirtioQueue q = d.setup_queue(0);
  d.driver_ok();
  uint64_t hdr = alloc.alloc(16), data = alloc.alloc(512), status = alloc.alloc(1);
  m.writel(hdr, kTOut);
  m.writeq(hdr + 8, 1536);  // 768 KiB
  m.writeb(status, 0xff);
  d.add_chain(q, {{hdr, 16, false}, {data, 512, false}, {status, 1, true}});
  d.kick(q);
  auto ev = m.wait_event("BLOCK_IO_ERROR");
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["data"]["action"], "stop") << ev->dump();
  EXPECT_EQ((*ev)["data"]["operation"], "write");
  EXPECT_EQ((*ev)["data"]["device"], "d0");
  EXPECT_TRUE(m.wait_event("STOP"));
  EXPECT_EQ(m.qmp("query-status")["return"]["status"], "io-error");
  EXPECT_FALSE(d.wait_used(q, 100)) << "the request waits for cont";
  // cont retries it; it fails again and stops again.
  m.qmp("cont");
  EXPECT_TRUE(m.wait_event("BLOCK_IO_ERROR"));
  EXPECT_EQ(m.qmp("query-status")["return"]["status"], "io-error");
  m.quit();
}

TEST(VirtioBlkErrors, WerrorReportCompletesWithIoErr) {
  QTestMachine m(
      "-M q35 -drive if=none,id=d0,format=raw,file=/dev/full,werror=report "
      "-device virtio-blk-pci,addr=7,id=vblk0,drive=d0");
  ASSERT_TRUE(m.ok()) << m.error();
  // /dev/full has no size: a zero-sector disk; a write is out of range → IOERR, no stop.
  GuestAlloc alloc;
  VirtioPciDriver d(m, alloc, kBlkDevfn);
  ASSERT_TRUE(d.negotiate(kVersion1));
  VirtioQueue q = d.setup_queue(0);
  d.driver_ok();
  uint64_t hdr = alloc.alloc(16), data = alloc.alloc(512), status = alloc.alloc(1);
  m.writel(hdr, kTOut);
  m.writeb(status, 0xff);
  d.add_chain(q, {{hdr, 16, false}, {data, 512, false}, {status, 1, true}});
  d.kick(q);
  ASSERT_TRUE(d.wait_used(q));
  EXPECT_EQ(m.readb(status), 1);
  EXPECT_EQ(m.qmp("query-status")["return"]["status"], "running");
  m.quit();
}

TEST(VirtioBlkErrors, DriveIsRequiredAndClaimedOnce) {
  auto refuse = [](std::vector<std::string> extra, const std::string& text) {
    std::vector<std::string> args = {"-M", "q35", "-accel", "qtest", "-display", "none"};
    args.insert(args.end(), extra.begin(), extra.end());
    RawMachine raw(args);
    auto st = raw.wait_exit();
    EXPECT_EQ(st.code, 1);
    EXPECT_NE(raw.child().stderr_text().find(text), std::string::npos) << raw.child().stderr_text();
  };
  refuse({"-device", "virtio-blk-pci"}, "drive property not set");
  refuse({"-device", "virtio-blk-pci,drive=nope"},
         "Property 'virtio-blk-device.drive' can't find value 'nope'");
  refuse({"-drive", "if=none,id=d0,format=raw,file=/dev/null", "-device", "virtio-blk-pci,drive=d0",
          "-device", "virtio-blk-pci,drive=d0"},
         "in use");
}

TEST_F(VirtioBlkTest, MultiQueueRequestsOnEveryQueue) {
  start_blk("", ",num-queues=4");
  EXPECT_TRUE(d_->device_features() & (1ull << kFMq));
  EXPECT_EQ(d_->num_queues(), 4);
  EXPECT_EQ(m().readw(d_->device_cfg() + 34), 4);  // config num_queues
  ASSERT_TRUE(d_->negotiate(kVersion1 | (1ull << kFMq)));
  std::vector<VirtioQueue> qs;
  for (uint16_t i = 0; i < 4; ++i) qs.push_back(d_->setup_queue(i));
  d_->driver_ok();
  // A write on queue 3, read back on queue 1; each queue completes its own requests.
  std::vector<uint8_t> data(512, 0x5a);
  EXPECT_EQ(request(kTOut, 9, data, 1, nullptr, &qs[3]).first, 0);
  uint64_t buf = 0;
  auto [st, len] = request(kTIn, 9, {}, 512, &buf, &qs[1]);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(len, 513u);
  EXPECT_EQ(mem_read(m(), buf, 512), data);
  EXPECT_EQ(file_bytes(9 * 512, 512), data);
  for (int i : {0, 2}) EXPECT_EQ(request(kTIn, 0, {}, 512, nullptr, &qs[size_t(i)]).first, 0);
  EXPECT_EQ(d_->used_idx(qs[0]), 1);
  EXPECT_EQ(d_->used_idx(qs[3]), 1);
}

}  // namespace
}  // namespace machina::qtest
