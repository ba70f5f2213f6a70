// DMA helpers: only guest RAM, never a partial copy beyond it.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "memory_test_util.h"

namespace machina::test {
namespace {

struct DmaFixture : ::testing::Test {
  MemoryRegion root, ram, ram2, rom, io;
  IoLog log;
  std::unique_ptr<AddressSpace> as;

  void SetUp() override {
    root.init_container(nullptr, "root", UINT64_MAX);
    ASSERT_TRUE(ram.init_ram(nullptr, "ram", 0x10000).ok());
    ASSERT_TRUE(ram2.init_ram(nullptr, "ram2", 0x1000).ok());
    ASSERT_TRUE(rom.init_rom(nullptr, "rom", 0x1000).ok());
    io.init_io(nullptr, "io", log.ops(), 0x1000);
    ASSERT_TRUE(root.add_subregion(0, &ram).ok());
    ASSERT_TRUE(root.add_subregion(0x10000, &ram2).ok());  // adjacent: contiguous RAM
    ASSERT_TRUE(root.add_subregion(0x11000, &io).ok());
    ASSERT_TRUE(root.add_subregion(0x20000, &rom).ok());
    as = std::make_unique<AddressSpace>(&root, "dma");
  }
  void TearDown() override { as.reset(); }
};

TEST_F(DmaFixture, InsideRam) {
  std::vector<uint8_t> data(256);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  ASSERT_TRUE(dma_write(*as, 0x100, data.data(), data.size()).ok());
  EXPECT_EQ(std::memcmp(ram.host_ptr() + 0x100, data.data(), data.size()), 0);
  std::vector<uint8_t> back(256);
  ASSERT_TRUE(dma_read(*as, 0x100, back.data(), back.size()).ok());
  EXPECT_EQ(back, data);
  EXPECT_TRUE(dma_read(*as, 0x100, nullptr, 0).ok());
}

TEST_F(DmaFixture, AcrossAdjacentRamRegions) {
  uint8_t data[32];
  std::memset(data, 0xab, sizeof data);
  ASSERT_TRUE(dma_write(*as, 0xfff0, data, sizeof data).ok());
  EXPECT_EQ(ram.host_ptr()[0xffff], 0xab);
  EXPECT_EQ(ram2.host_ptr()[0xf], 0xab);
}

TEST_F(DmaFixture, StraddlingRamEndIntoIoFailsWithoutWriting) {
  uint8_t data[32];
  std::memset(data, 0xcd, sizeof data);
  Status s = dma_write(*as, 0x10ff0, data, sizeof data);  // ram2 ends at 0x11000, then I/O
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "DMA write of 32 bytes at 0x10ff0 failed: 0x11000 is not guest RAM");
  for (int i = 0; i < 16; ++i) EXPECT_EQ(ram2.host_ptr()[0xff0 + i], 0) << i;  // no partial copy
  EXPECT_TRUE(log.log.empty());  // the device was not touched
}

TEST_F(DmaFixture, StraddlingIntoUnassignedFails) {
  // RAM followed by nothing: the range [0x20ff0, 0x21010) leaves the ROM... use the top RAM.
  MemoryRegion top;
  ASSERT_TRUE(top.init_ram(nullptr, "top", 0x1000).ok());
  ASSERT_TRUE(root.add_subregion(0x40000, &top).ok());
  uint8_t buf[0x20];
  std::memset(buf, 0x77, sizeof buf);
  Status s = dma_write(*as, 0x40ff0, buf, sizeof buf);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "DMA write of 32 bytes at 0x40ff0 failed: 0x41000 is not guest RAM");
  EXPECT_EQ(top.host_ptr()[0xff0], 0);
  uint8_t out[0x20];
  std::memset(out, 0x11, sizeof out);
  s = dma_read(*as, 0x40ff0, out, sizeof out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(out[0], 0x11);  // nothing copied on failure
  ASSERT_TRUE(root.del_subregion(&top).ok());
}

TEST_F(DmaFixture, IntoIoFails) {
  uint32_t v = 0;
  EXPECT_FALSE(dma_read(*as, 0x11000, &v, 4).ok());
  EXPECT_FALSE(dma_write(*as, 0x11000, &v, 4).ok());
  EXPECT_TRUE(log.log.empty());
}

TEST_F(DmaFixture, RomReadableNotWritable) {
  rom.host_ptr()[0] = 0x5a;
  uint8_t b = 0;
  ASSERT_TRUE(dma_read(*as, 0x20000, &b, 1).ok());
  EXPECT_EQ(b, 0x5a);
  Status s = dma_write(*as, 0x20000, &b, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "DMA write of 1 bytes at 0x20000 failed: 0x20000 is read-only memory");
}

TEST_F(DmaFixture, WrapAroundRejected) {
  uint8_t buf[16] = {};
  Status s = dma_read(*as, UINT64_MAX - 3, buf, sizeof buf);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("wraps around"), std::string::npos);
}

TEST_F(DmaFixture, UnmappedAddressFails) {
  uint8_t b = 0;
  Status s = dma_read(*as, 0x900000, &b, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "DMA read of 1 bytes at 0x900000 failed: 0x900000 is not guest RAM");
}

}  // namespace
}  // namespace machina::test
