// The legacy (virtio 0.9.5) interface of transitional virtio-pci devices, as QEMU: which devices
// are transitional (disable-legacy auto/on/off, pcie.0 vs a PCIe root port, disable-modern), the
// IDs and the BAR layout, and a virtio-blk driven end to end through the I/O BAR only; a bad ring
// address puts the device in NEEDS_RESET and nothing else.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "qtest/blk_test_images.h"
#include "qtest/hw_pc_qtest.h"
#include "qtest/virtio_legacy_driver.h"

namespace machina::qtest {
namespace {

constexpr int kBlkDevfn = 7 << 3;
constexpr uint64_t kImageSize = 1 << 20;
constexpr uint32_t kTIn = 0, kTOut = 1;
constexpr unsigned kFSegMax = 2, kFBlkSize = 6, kFFlush = 9;
constexpr uint8_t kAck = 1, kDriver = 2, kDriverOk = 4, kNeedsReset = 0x40;
// pcie-root-ports at 00:03.0 and 00:04.0 (secondary buses 1 and 2, numbered by the test).
constexpr const char* kPorts =
    "-device pcie-root-port,id=rp1,chassis=1,slot=1,addr=3 "
    "-device pcie-root-port,id=rp2,chassis=2,slot=2,addr=4 ";

class VirtioPciLegacyTest : public PcQtest {
 protected:
  void SetUp() override {
    img_ = std::make_unique<TempPath>(".img");
    write_pattern_image(img_->str(), kImageSize);
  }
  std::string blk(const std::string& dev_opts = "") {
    return "-drive if=none,id=d0,format=raw,file=" + img_->str() +
           " -device virtio-blk-pci,addr=7,id=vblk0,drive=d0" + dev_opts;
  }
  void start_legacy_blk(const std::string& dev_opts = "", const std::string& extra = "") {
    start(blk(dev_opts) + " " + extra);
    d_ = std::make_unique<VirtioLegacyDriver>(m(), alloc_, kBlkDevfn);
    ASSERT_TRUE(d_->found());
  }
  std::vector<uint8_t> file_bytes(uint64_t off, size_t len) {
    std::vector<uint8_t> out(len);
    int fd = ::open(img_->str().c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::pread(fd, out.data(), len, off_t(off)), ssize_t(len));
    ::close(fd);
    return out;
  }
  // A virtio-blk request in the legacy layout Linux uses: header, data, status in separate
  // descriptors. {status, used length}.
  std::pair<uint8_t, uint32_t> request(VirtioQueue& q, uint32_t type, uint64_t sector,
                                       uint64_t data, uint32_t len) {
    uint64_t hdr = alloc_.alloc(16);
    uint8_t h[16] = {};
    std::memcpy(h, &type, 4);
    std::memcpy(h + 8, &sector, 8);
    mem_write(m(), hdr, std::vector<uint8_t>(h, h + 16));
    uint64_t status = alloc_.alloc(1);
    m().writeb(status, 0xff);
    d_->add_chain(q, {{hdr, 16, false}, {data, len, type == kTIn}, {status, 1, true}});
    d_->kick(q);
    auto used = d_->wait_used(q);
    if (!used) {
      ADD_FAILURE() << "request not completed";
      return {0xff, 0};
    }
    return {m().readb(status), used->second};
  }
  // Whichever interrupt line is high (-1: none).
  int high_line() {
    for (int n = 0; n < 24; ++n) {
      if (irq(n)) return n;
    }
    return -1;
  }

  std::unique_ptr<TempPath> img_;
  GuestAlloc alloc_;
  std::unique_ptr<VirtioLegacyDriver> d_;
};

TEST_F(VirtioPciLegacyTest, TransitionalOnPcie0) {
  start(blk());
  PciFunction f(m(), kBlkDevfn);
  EXPECT_EQ(f.read(0x00, 2), 0x1af4u);
  EXPECT_EQ(f.read(0x02, 2), 0x1001u);  // transitional virtio-blk
  EXPECT_EQ(f.read(0x08, 1), 0u);       // revision 0
  EXPECT_EQ(f.read(0x2c, 2), 0x1af4u);
  EXPECT_EQ(f.read(0x2e, 2), 2u);  // subsystem ID: the virtio device ID
  // BAR 0: I/O, registers with the MSI-X vectors (24) + 60 bytes of configuration → 128.
  EXPECT_EQ(f.read(0x10, 4) & 1, 1u);
  EXPECT_EQ(f.bar_size(0), 128u);
  // The modern interface stays: MSI-X in BAR 1, the capabilities' BAR 4.
  EXPECT_EQ(f.bar_size(1), 0x1000u);
  EXPECT_EQ(f.bar_size(4), 0x4000u);
  EXPECT_EQ(f.capabilities(0x09).size(), 5u);
  auto r = qmp("qom-get", {{"path", "/machine/peripheral/vblk0"}, {"property", "disable-legacy"}});
  EXPECT_EQ(r["return"], "off") << r.dump();
}

TEST_F(VirtioPciLegacyTest, BarSizeWithoutMsixAndForEachDevice) {
  start(blk(",vectors=0") + " -device virtio-rng-pci,addr=4 -device virtio-serial-pci,addr=5");
  EXPECT_EQ(PciFunction(m(), kBlkDevfn).bar_size(0), 128u);  // 20 + 60
  PciFunction rng(m(), 4 << 3), serial(m(), 5 << 3);
  EXPECT_EQ(rng.read(0x02, 2), 0x1005u);
  EXPECT_EQ(rng.read(0x2e, 2), 4u);
  EXPECT_EQ(rng.bar_size(0), 32u);  // 24, no configuration
  EXPECT_EQ(serial.read(0x02, 2), 0x1003u);
  EXPECT_EQ(serial.read(0x2e, 2), 3u);
}

TEST_F(VirtioPciLegacyTest, DisableLegacyOnIsModernOnly) {
  start(blk(",disable-legacy=on"));
  PciFunction f(m(), kBlkDevfn);
  EXPECT_EQ(f.read(0x02, 2), 0x1042u);
  EXPECT_EQ(f.read(0x08, 1), 1u);
  EXPECT_EQ(f.read(0x2e, 2), 0x1100u);
  EXPECT_EQ(f.bar_size(0), 0u);
  EXPECT_EQ(f.bar_size(4), 0x4000u);
}

TEST_F(VirtioPciLegacyTest, BehindARootPortAutoMeansModernOnly) {
  start(std::string(kPorts) + "-drive if=none,id=d0,format=raw,file=" + img_->str() +
        " -device virtio-blk-pci,bus=rp1,id=vblk0,drive=d0"
        " -device virtio-rng-pci,bus=rp2,disable-legacy=off,id=rng0");
  PciFunction(m(), 3 << 3).write(0x18, 0x010100, 4);  // secondary bus 1
  PciFunction(m(), 4 << 3).write(0x18, 0x020200, 4);  // secondary bus 2
  PciFunction dev(m(), 0, 1), rng(m(), 0, 2);
  EXPECT_EQ(dev.read(0x02, 2), 0x1042u);
  EXPECT_EQ(dev.bar_size(0), 0u);
  auto r = qmp("qom-get", {{"path", "/machine/peripheral/vblk0"}, {"property", "disable-legacy"}});
  EXPECT_EQ(r["return"], "on") << r.dump();
  // disable-legacy=off behind a port is allowed (QEMU): transitional, with the I/O BAR.
  EXPECT_EQ(rng.read(0x02, 2), 0x1005u);
  EXPECT_EQ(rng.read(0x10, 4) & 1, 1u);
  EXPECT_EQ(rng.bar_size(0), 32u);
}

TEST_F(VirtioPciLegacyTest, DisableModernIsLegacyOnly) {
  start(blk(",disable-modern=on"));
  PciFunction f(m(), kBlkDevfn);
  EXPECT_EQ(f.read(0x02, 2), 0x1001u);
  EXPECT_EQ(f.bar_size(0), 128u);
  EXPECT_EQ(f.bar_size(4), 0u);
  EXPECT_TRUE(f.capabilities(0x09).empty());
  EXPECT_EQ(f.capabilities(0x11).size(), 1u);  // MSI-X stays
}

TEST_F(VirtioPciLegacyTest, NeitherModernNorLegacyIsRefused) {
  auto refuse = [](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"-M", "q35", "-accel", "qtest", "-display", "none"};
    argv.insert(argv.end(), args.begin(), args.end());
    RawMachine raw(argv);
    auto st = raw.wait_exit();
    EXPECT_EQ(st.code, 1);
    EXPECT_NE(raw.child().stderr_text().find(
                  "device cannot work as neither modern nor legacy mode is enabled"),
              std::string::npos)
        << raw.child().stderr_text();
  };
  refuse({"-device", "virtio-rng-pci,disable-modern=on,disable-legacy=on"});
  // Behind a port, auto is "on": disable-modern=on alone is refused there.
  refuse({"-device", "pcie-root-port,id=rp1,chassis=1", "-device",
          "virtio-rng-pci,bus=rp1,disable-modern=on"});
}

TEST_F(VirtioPciLegacyTest, BlockRequestsThroughTheIoBar) {
  start_legacy_blk();
  intercept_gsi();
  uint32_t hf = d_->host_features();
  for (unsigned bit : {kFSegMax, kFBlkSize, kFFlush, 28u /*INDIRECT_DESC*/}) {
    EXPECT_TRUE(hf & (1u << bit)) << bit;
  }
  // The configuration right after the registers (MSI-X disabled): capacity, blk_size.
  uint16_t cfg = uint16_t(d_->io() + d_->config_offset());
  EXPECT_EQ(uint64_t(m().inl(cfg)) | uint64_t(m().inl(uint16_t(cfg + 4))) << 32, kImageSize / 512);
  EXPECT_EQ(m().inl(uint16_t(cfg + 20)), 512u);
  // Features take effect when written; bits the device did not offer are dropped.
  d_->init((1u << kFFlush) | (1u << 31));
  EXPECT_EQ(d_->guest_features(), 1u << kFFlush);
  EXPECT_EQ(d_->status(), kAck | kDriver);
  // The queue: its fixed size, its PFN.
  EXPECT_EQ(d_->queue_num(0), 256u);
  EXPECT_EQ(d_->queue_num(1), 0u) << "no second queue";
  VirtioQueue q = d_->setup_queue(0);
  EXPECT_EQ(d_->queue_pfn(0), uint32_t(q.desc >> 12));
  d_->driver_ok();
  // A read, compared with the image.
  uint64_t buf = alloc_.alloc(1024);
  auto [st, len] = request(q, kTIn, 3, buf, 1024);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(len, 1025u);
  EXPECT_EQ(mem_read(m(), buf, 1024), file_bytes(3 * 512, 1024));
  // INTx is up with ISR bit 0; reading the ISR clears it and lowers the line.
  int line = high_line();
  EXPECT_GE(line, 0);
  EXPECT_EQ(d_->read_isr(), 1);
  EXPECT_EQ(d_->read_isr(), 0);
  if (line >= 0) {
    EXPECT_EQ(irq(line), 0);
  }
  // A write reaches the file.
  std::vector<uint8_t> payload(512);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = uint8_t(0x5a ^ i);
  uint64_t wbuf = alloc_.alloc(512);
  mem_write(m(), wbuf, payload);
  EXPECT_EQ(request(q, kTOut, 40, wbuf, 512).first, 0);
  EXPECT_EQ(file_bytes(40 * 512, 512), payload);
  // Reset through the status register: everything back to 0.
  d_->set_status(0);
  EXPECT_EQ(d_->status(), 0);
  EXPECT_EQ(d_->guest_features(), 0u);
  EXPECT_EQ(d_->queue_pfn(0), 0u);
}

TEST_F(VirtioPciLegacyTest, MsixMovesTheConfigurationAndAddsVectorRegisters) {
  start_legacy_blk();
  PciFunction& f = d_->pci();
  f.write(0x14, 0xe0100000, 4);  // BAR 1: the MSI-X table
  f.write(0x04, f.read(0x04, 2) | 0x2, 2);
  auto caps = f.capabilities(0x11);
  ASSERT_EQ(caps.size(), 1u);
  f.write(caps[0] + 2u, f.read(caps[0] + 2u, 2) | 0x8000, 2);
  uint16_t io = d_->io();
  // Configuration at 0x18 now: capacity.
  EXPECT_EQ(m().inl(uint16_t(io + d_->config_offset(true))), kImageSize / 512);
  // Config vector at 0x14, queue vector at 0x16 (of the selected queue); an out-of-range vector
  // reads back as NO_VECTOR.
  m().outw(uint16_t(io + 0x14), 1);
  EXPECT_EQ(m().inw(uint16_t(io + 0x14)), 1u);
  d_->queue_num(0);  // selects queue 0
  m().outw(uint16_t(io + 0x16), 0);
  EXPECT_EQ(m().inw(uint16_t(io + 0x16)), 0u);
  m().outw(uint16_t(io + 0x16), 7);
  EXPECT_EQ(m().inw(uint16_t(io + 0x16)), 0xffffu);
}

TEST_F(VirtioPciLegacyTest, QueuePfnOutsideRamNeedsResetAndNothingElse) {
  start_legacy_blk("", "-d guest_errors");
  d_->init(1u << kFFlush);
  d_->set_queue_pfn(0, 0x4000000);  // 256 GiB: no RAM there
  ASSERT_TRUE(d_->wait_needs_reset());
  EXPECT_EQ(qmp("query-status")["return"]["status"], "running");
  EXPECT_NE(m().stderr_text().find("rings not in guest RAM"), std::string::npos)
      << m().stderr_text();
  // A notification for it does nothing; a reset brings the device back.
  d_->kick(VirtioQueue{});
  d_->init(1u << kFFlush);
  EXPECT_EQ(d_->status() & kNeedsReset, 0);
  VirtioQueue q = d_->setup_queue(0);
  d_->driver_ok();
  uint64_t buf = alloc_.alloc(512);
  auto [st, len] = request(q, kTIn, 0, buf, 512);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(mem_read(m(), buf, 512), file_bytes(0, 512));
  // PFN 0 resets the device (as QEMU).
  d_->set_queue_pfn(0, 0);
  EXPECT_EQ(d_->status(), 0);
}

}  // namespace
}  // namespace machina::qtest
