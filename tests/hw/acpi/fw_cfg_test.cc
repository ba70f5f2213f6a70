// fw_cfg through its I/O ports as QEMU's docs/specs/fw_cfg.rst describes them: the signature and
// feature bits, the file directory, architecture-local keys, and the DMA interface reading into
// and writing from guest RAM (a RAM region registered for the test).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "hw/nvram/fw_cfg.h"
#include "system/memory.h"
#include "util/bql.h"

namespace machina {
namespace {

using namespace fw_cfg;

constexpr uint64_t kTestRamBase = 0x100000;
constexpr uint64_t kTestRamSize = 0x10000;
constexpr uint64_t kDesc = kTestRamBase;          // the FWCfgDmaAccess
constexpr uint64_t kBuf = kTestRamBase + 0x1000;  // the data

class FwCfgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ram_.init_ram(nullptr, "fwcfg-test-ram", kTestRamSize).ok());
    ASSERT_TRUE(get_system_memory()->add_subregion(kTestRamBase, &ram_).ok());
    auto r = sysbus_create(kTypeFwCfgIo);
    ASSERT_TRUE(r.ok()) << r.message();
    fw_ = static_cast<FwCfg*>(r.value());
  }
  void TearDown() override {
    Object* c = container_get("/machine/unattached");
    while (!c->children().empty()) c->children().back()->unparent();
    (void)get_system_memory()->del_subregion(&ram_);
  }

  static void select(uint16_t key) {
    EXPECT_EQ(address_space_io().write(kFwCfgIoBase, 2, key), MemTxResult::Ok);
  }
  static uint8_t data() {
    uint64_t v = 0;
    EXPECT_EQ(address_space_io().read(kFwCfgIoBase + 1, 1, &v), MemTxResult::Ok);
    return uint8_t(v);
  }
  static std::string read_str(uint16_t key, size_t n) {
    select(key);
    std::string s;
    for (size_t i = 0; i < n; ++i) s.push_back(char(data()));
    return s;
  }
  uint8_t* ram(uint64_t addr) { return ram_.host_ptr() + (addr - kTestRamBase); }
  static void put_be(uint8_t* p, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) p[i] = uint8_t(v >> (8 * (n - 1 - i)));
  }
  static uint64_t get_be(const uint8_t* p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
    return v;
  }
  // Writes a FWCfgDmaAccess at kDesc and starts it as a guest does: the big-endian address,
  // high half then low half, with 32-bit port writes. Returns the control word written back.
  uint32_t dma(uint32_t control, uint32_t length, uint64_t address) {
    put_be(ram(kDesc), control, 4);
    put_be(ram(kDesc) + 4, length, 4);
    put_be(ram(kDesc) + 8, address, 8);
    EXPECT_EQ(
        address_space_io().write(kFwCfgDmaIoBase, 4, __builtin_bswap32(uint32_t(kDesc >> 32))),
        MemTxResult::Ok);
    EXPECT_EQ(address_space_io().write(kFwCfgDmaIoBase + 4, 4, __builtin_bswap32(uint32_t(kDesc))),
              MemTxResult::Ok);
    return uint32_t(get_be(ram(kDesc), 4));
  }

  BqlGuard bql_;
  MemoryRegion ram_;
  FwCfg* fw_ = nullptr;
};

TEST_F(FwCfgTest, SignatureAndFeaturesThroughPorts) {
  EXPECT_EQ(read_str(kSignature, 4), "QEMU");
  EXPECT_EQ(data(), 0);  // past the end
  select(kId);
  EXPECT_EQ(data(), kFeatureTraditional | kFeatureDma);
  EXPECT_EQ(data(), 0);
  EXPECT_EQ(read_str(kSignature | kWriteChannel, 4), "QEMU");  // bit 14 is ignored
  // Data writes are ignored; invalid keys read 0.
  EXPECT_EQ(address_space_io().write(kFwCfgIoBase + 1, 1, 0x55), MemTxResult::Ok);
  EXPECT_EQ(read_str(0x3fff, 2), std::string(2, '\0'));
  EXPECT_EQ(read_str(kMaxEntry, 2), std::string(2, '\0'));
  // The DMA register reads "QEMU CFG".
  uint64_t hi = 0, lo = 0;
  EXPECT_EQ(address_space_io().read(kFwCfgDmaIoBase, 4, &hi), MemTxResult::Ok);
  EXPECT_EQ(address_space_io().read(kFwCfgDmaIoBase + 4, 4, &lo), MemTxResult::Ok);
  char sig[9] = {};
  std::memcpy(sig, &hi, 4);
  std::memcpy(sig + 4, &lo, 4);
  EXPECT_STREQ(sig, "QEMU CFG");
}

TEST_F(FwCfgTest, NumericItemsAreLittleEndianAndArchKeysAreSeparate) {
  ASSERT_TRUE(fw_cfg_add_pc_items(*fw_, 0x20000000, 2, 4, true, {{0, 0x9fc00, 1}}).ok());
  EXPECT_EQ(read_str(kRamSize, 8), std::string("\0\0\0\x20\0\0\0\0", 8));
  EXPECT_EQ(read_str(kNbCpus, 2), std::string("\x02\0", 2));
  EXPECT_EQ(read_str(kMaxCpus, 2), std::string("\x04\0", 2));
  EXPECT_EQ(read_str(kIrq0Override, 4), std::string("\x01\0\0\0", 4));
  EXPECT_EQ(read_str(kIrq0Override & kEntryMask, 4), std::string(4, '\0'))
      << "key 2 (the UUID) is not the arch-local key 0x8002";
}

TEST_F(FwCfgTest, LazyItemsAreLoadedWhenFirstSelectedAndOnlyOnce) {
  int loads = 0;
  FwCfgLinuxBoot b;
  b.kernel_size = 5;
  b.load_kernel = [&loads] {
    ++loads;
    return std::vector<uint8_t>{'k', 'e', 'r', 'n', 'l'};
  };
  fw_cfg_add_linux_boot(*fw_, b);
  EXPECT_EQ(loads, 0) << "nothing read before firmware asks";
  EXPECT_EQ(read_str(kKernelSize, 4), std::string("\x05\0\0\0", 4));
  EXPECT_EQ(loads, 0) << "the size comes without the data";
  EXPECT_EQ(read_str(kKernelData, 6), std::string("kernl\0", 6));
  EXPECT_EQ(read_str(kKernelData, 5), "kernl");
  EXPECT_EQ(loads, 1);
}

TEST_F(FwCfgTest, FileDirectoryIsSortedWithBigEndianFields) {
  ASSERT_TRUE(fw_->add_file("etc/e820", fw_cfg_e820_file({{0, 0x9fc00, 1}})).ok());
  ASSERT_TRUE(fw_->add_file("b/two", {'2', '2'}).ok());
  ASSERT_TRUE(fw_->add_file("a/one", {'1'}).ok());
  EXPECT_FALSE(fw_->add_file("a/one", {}).ok());  // duplicate

  select(kFileDir);
  uint8_t dir[4 + 3 * 64];
  for (uint8_t& b : dir) b = data();
  EXPECT_EQ(get_be(dir, 4), 3u);
  struct Want {
    const char* name;
    uint32_t size;
    uint16_t key;
  } want[] = {{"a/one", 1, 0x20}, {"b/two", 2, 0x21}, {"etc/e820", 20, 0x22}};
  for (int i = 0; i < 3; ++i) {
    const uint8_t* e = dir + 4 + 64 * i;
    EXPECT_EQ(get_be(e, 4), want[i].size) << i;
    EXPECT_EQ(get_be(e + 4, 2), want[i].key) << i;
    EXPECT_EQ(get_be(e + 6, 2), 0u) << i;
    EXPECT_STREQ(reinterpret_cast<const char*>(e + 8), want[i].name) << i;
  }
  EXPECT_EQ(read_str(0x21, 2), "22");
  // The e820 file: le64 address, le64 length, le32 type.
  EXPECT_EQ(read_str(fw_->file_key("etc/e820"), 20),
            std::string("\0\0\0\0\0\0\0\0\x00\xfc\x09\0\0\0\0\0\x01\0\0\0", 20));
}

TEST_F(FwCfgTest, DmaReadSelectsCopiesAndZeroFillsPastTheEnd) {
  ASSERT_TRUE(fw_->add_file("etc/hello", {'h', 'e', 'l', 'l', 'o'}).ok());
  uint16_t key = fw_->file_key("etc/hello");
  std::memset(ram(kBuf), 0xaa, 16);
  EXPECT_EQ(dma((uint32_t(key) << 16) | kDmaCtlSelect | kDmaCtlRead, 8, kBuf), 0u);
  EXPECT_EQ(std::memcmp(ram(kBuf), "hello\0\0\0", 8), 0);
  EXPECT_EQ(ram(kBuf)[8], 0xaa);

  // Skip, then read on from the current offset.
  std::memset(ram(kBuf), 0xaa, 16);
  EXPECT_EQ(dma((uint32_t(kSignature) << 16) | kDmaCtlSelect | kDmaCtlSkip, 1, 0), 0u);
  EXPECT_EQ(dma(kDmaCtlRead, 3, kBuf), 0u);
  EXPECT_EQ(std::memcmp(ram(kBuf), "EMU", 3), 0);
  EXPECT_EQ(ram(kBuf)[3], 0xaa);
  // The traditional interface continues where DMA stopped.
  EXPECT_EQ(data(), 0);
}

TEST_F(FwCfgTest, DmaWriteIsRefusedUnlessTheItemIsWritable) {
  ASSERT_TRUE(fw_->add_file("etc/ro", {1, 2, 3, 4}).ok());
  ASSERT_TRUE(fw_->add_file("etc/rw", {1, 2, 3, 4}, /*writable=*/true).ok());
  std::memcpy(ram(kBuf), "\x09\x08\x07\x06", 4);
  EXPECT_EQ(dma((uint32_t(fw_->file_key("etc/ro")) << 16) | kDmaCtlSelect | kDmaCtlWrite, 4, kBuf),
            kDmaCtlError);
  EXPECT_EQ(*fw_->file("etc/ro"), (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(dma((uint32_t(fw_->file_key("etc/rw")) << 16) | kDmaCtlSelect | kDmaCtlWrite, 2, kBuf),
            0u);
  EXPECT_EQ(*fw_->file("etc/rw"), (std::vector<uint8_t>{9, 8, 3, 4}));
  // Past the end of a writable item: error.
  EXPECT_EQ(dma(kDmaCtlWrite, 4, kBuf), kDmaCtlError);
}

TEST_F(FwCfgTest, DmaOutsideRamFailsWithoutHarm) {
  // Destination outside RAM: ERROR in the control word.
  EXPECT_EQ(dma((uint32_t(kSignature) << 16) | kDmaCtlSelect | kDmaCtlRead, 4, 0xfe000000),
            kDmaCtlError);
  // A descriptor outside RAM: nothing to write back; the device carries on.
  EXPECT_EQ(address_space_io().write(kFwCfgDmaIoBase + 4, 4, __builtin_bswap32(0xfe000000u)),
            MemTxResult::Ok);
  EXPECT_EQ(read_str(kSignature, 4), "QEMU");
}

TEST_F(FwCfgTest, WithoutDmaTheFeatureBitIsClearAndThePortIsAbsent) {
  Object* c = container_get("/machine/unattached");
  while (!c->children().empty()) c->children().back()->unparent();
  auto o = object_new(kTypeFwCfgIo);
  ASSERT_TRUE(o.ok());
  auto* dev = static_cast<FwCfg*>(o.value().get());
  ASSERT_TRUE(dev->property_parse("dma_enabled", "false").ok());
  ASSERT_TRUE(c->add_child("fw-nodma", dev).ok());
  dev->attach_to_bus(sysbus_get_default());
  ASSERT_TRUE(dev->realize().ok());
  select(kId);
  EXPECT_EQ(data(), kFeatureTraditional);
  uint64_t v = 0;
  EXPECT_NE(address_space_io().read(kFwCfgDmaIoBase, 4, &v), MemTxResult::Ok);
}

TEST_F(FwCfgTest, LinuxBootItems) {
  FwCfgLinuxBoot b;
  b.kernel_addr = 0x100000;
  b.kernel = {1, 2, 3};
  b.setup_addr = 0x90000;
  b.setup = {4, 5};
  b.cmdline_addr = 0x20000;
  b.cmdline = "console=ttyS0";
  fw_cfg_add_linux_boot(*fw_, b);
  EXPECT_EQ(read_str(kKernelAddr, 4), std::string("\0\0\x10\0", 4));
  EXPECT_EQ(read_str(kKernelSize, 4), std::string("\x03\0\0\0", 4));
  EXPECT_EQ(read_str(kKernelData, 3), std::string("\x01\x02\x03"));
  EXPECT_EQ(read_str(kSetupSize, 4), std::string("\x02\0\0\0", 4));
  EXPECT_EQ(read_str(kCmdlineSize, 4), std::string("\x0e\0\0\0", 4));
  EXPECT_EQ(read_str(kCmdlineData, 14), std::string("console=ttyS0\0", 14));
  EXPECT_EQ(read_str(kInitrdSize, 4), std::string(4, '\0'));
}

}  // namespace
}  // namespace machina
