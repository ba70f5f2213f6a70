// Dispatch of guest accesses: RAM/ROM, I/O callbacks with split and widened accesses, valid
// sizes, unassigned addresses.
#include <gtest/gtest.h>

#include <cstring>

#include "memory_test_util.h"

namespace machina::test {
namespace {

struct IoFixture : ::testing::Test {
  MemoryRegion root, io;
  IoLog log;
  std::unique_ptr<AddressSpace> as;

  void map(MemoryRegionOps ops, uint64_t size = 0x100) {
    root.init_container(nullptr, "root", 0x100000);
    io.init_io(nullptr, "dev", std::move(ops), size);
    ASSERT_TRUE(root.add_subregion(0x1000, &io).ok());
    as = std::make_unique<AddressSpace>(&root, "t");
  }
  void TearDown() override { as.reset(); }
};

TEST_F(IoFixture, NativeSizeGoesStraightThrough) {
  map(log.ops(1, 8));
  uint64_t v = 0;
  EXPECT_EQ(as->read(0x1010, 4, &v), MemTxResult::Ok);
  EXPECT_EQ(v, 0x23222120u);
  EXPECT_EQ(as->write(0x1008, 8, 0x0102030405060708), MemTxResult::Ok);
  EXPECT_EQ(log.joined(), "r4@16 w8@8=102030405060708");
}

TEST_F(IoFixture, WideAccessSplitIntoBytesLittleEndian) {
  map(log.ops(1, 1));
  uint64_t v = 0;
  EXPECT_EQ(as->read(0x1004, 4, &v), MemTxResult::Ok);
  EXPECT_EQ(log.joined(), "r1@4 r1@5 r1@6 r1@7");
  EXPECT_EQ(v, 0x17161514u);  // byte at offset 4 is the least significant
  log.log.clear();
  EXPECT_EQ(as->write(0x1000, 4, 0xaabbccdd), MemTxResult::Ok);
  EXPECT_EQ(log.joined(), "w1@0=dd w1@1=cc w1@2=bb w1@3=aa");
}

TEST_F(IoFixture, EightByteAccessWithDefaultImplIsTwoDwords) {
  map(log.ops());  // impl max defaults to 4
  uint64_t v = 0;
  EXPECT_EQ(as->read(0x1000, 8, &v), MemTxResult::Ok);
  EXPECT_EQ(log.joined(), "r4@0 r4@4");
  EXPECT_EQ(v, 0x1716151413121110u);
}

TEST_F(IoFixture, NarrowReadWidenedToImplMin) {
  // QEMU's access_with_adjusted_size: one 4-byte callback access at the same address, and the
  // low byte of its result.
  map(log.ops(4, 4));
  uint64_t v = 0;
  EXPECT_EQ(as->read(0x1008, 1, &v), MemTxResult::Ok);
  EXPECT_EQ(log.joined(), "r4@8");
  EXPECT_EQ(v, 0x18u);
  log.log.clear();
  EXPECT_EQ(as->read(0x100a, 2, &v), MemTxResult::Ok);
  EXPECT_EQ(log.joined(), "r4@10");
  EXPECT_EQ(v, 0x1b1au);
}

TEST_F(IoFixture, NarrowWriteWidenedToImplMinZeroExtended) {
  // No read-modify-write: the value is zero-extended and written with the wider size.
  map(log.ops(4, 4));
  EXPECT_EQ(as->write(0x1004, 1, 0x1ab), MemTxResult::Ok);  // only the low byte counts
  EXPECT_EQ(log.joined(), "w4@4=ab");
}

TEST_F(IoFixture, InvalidSizesRejected) {
  MemoryRegionOps ops = log.ops();
  ops.valid.min_access_size = 2;
  ops.valid.max_access_size = 4;
  map(std::move(ops));
  uint64_t v = 0;
  EXPECT_EQ(as->read(0x1000, 1, &v), MemTxResult::DecodeError);
  EXPECT_EQ(v, 0xffu);
  EXPECT_EQ(as->read(0x1000, 8, &v), MemTxResult::DecodeError);
  EXPECT_EQ(v, ~uint64_t{0});
  EXPECT_EQ(as->write(0x1000, 1, 5), MemTxResult::DecodeError);
  EXPECT_TRUE(log.log.empty()) << log.joined();
  EXPECT_EQ(as->read(0x1000, 2, &v), MemTxResult::Ok);
  EXPECT_EQ(as->read(0x1000, 4, &v), MemTxResult::Ok);
  EXPECT_EQ(log.joined(), "r2@0 r4@0");
}

TEST_F(IoFixture, UnalignedRejectedUnlessAllowed) {
  map(log.ops());
  uint64_t v = 0;
  EXPECT_EQ(as->read(0x1001, 4, &v), MemTxResult::DecodeError);
  EXPECT_EQ(v, 0xffffffffu);
  EXPECT_EQ(as->read(0x1002, 2, &v), MemTxResult::Ok);
  EXPECT_EQ(log.joined(), "r2@2");
}

TEST_F(IoFixture, UnalignedAllowed) {
  MemoryRegionOps ops = log.ops(1, 4);
  ops.valid.unaligned = true;
  map(std::move(ops));
  uint64_t v = 0;
  EXPECT_EQ(as->read(0x1001, 4, &v), MemTxResult::Ok);
  EXPECT_EQ(v, 0x14131211u);
}

TEST_F(IoFixture, AcceptsCallbackCanRefuse) {
  MemoryRegionOps ops = log.ops();
  ops.valid.accepts = [](uint64_t addr, unsigned, bool is_write) { return !is_write || addr; };
  map(std::move(ops));
  EXPECT_EQ(as->write(0x1000, 4, 1), MemTxResult::DecodeError);
  EXPECT_EQ(as->write(0x1004, 4, 1), MemTxResult::Ok);
  EXPECT_EQ(log.joined(), "w4@4=1");
}

TEST_F(IoFixture, NonPowerOfTwoSizeRejected) {
  map(log.ops());
  uint64_t v = 0;
  EXPECT_EQ(as->read(0x1000, 3, &v), MemTxResult::DecodeError);
  EXPECT_EQ(as->write(0x1000, 16, 0), MemTxResult::DecodeError);
  EXPECT_TRUE(log.log.empty());
}

TEST_F(IoFixture, UnassignedReadsAllOnesAndIgnoresWrites) {
  map(log.ops());
  uint64_t v = 0;
  EXPECT_EQ(as->read(0x9000, 4, &v), MemTxResult::DecodeError);
  EXPECT_EQ(v, 0xffffffffu);
  EXPECT_EQ(as->read(0x9000, 8, &v), MemTxResult::DecodeError);
  EXPECT_EQ(v, ~uint64_t{0});
  EXPECT_EQ(as->write(0x9000, 4, 1), MemTxResult::DecodeError);
  EXPECT_TRUE(log.log.empty());
}

TEST_F(IoFixture, BufferAccessSplitsIntoValidSizes) {
  map(log.ops(1, 8));  // valid max defaults to 4 for buffer splitting
  uint8_t buf[7];
  EXPECT_EQ(as->read_buf(0x1001, buf, sizeof buf), MemTxResult::Ok);
  EXPECT_EQ(log.joined(), "r1@1 r2@2 r4@4");  // alignment limits each piece
  for (unsigned i = 0; i < sizeof buf; ++i) EXPECT_EQ(buf[i], 0x11 + i);
}

TEST_F(IoFixture, AccessStraddlingRegionEndIsSplit) {
  map(log.ops(1, 4), 0x10);
  uint64_t v = 0;
  // 2 bytes at 0x100f: the device's last byte, then unassigned (all-ones).
  EXPECT_EQ(as->read(0x100f, 2, &v), MemTxResult::DecodeError);
  EXPECT_EQ(v, 0xff1fu);
  EXPECT_EQ(log.joined(), "r1@15");
}

TEST(MemoryAccess, RamReadWrite) {
  MemoryRegion root, ram;
  root.init_container(nullptr, "root", UINT64_MAX);
  ASSERT_TRUE(ram.init_ram(nullptr, "ram", 0x10000).ok());
  ASSERT_TRUE(root.add_subregion(0x100000, &ram).ok());
  AddressSpace as(&root, "t");
  EXPECT_EQ(as.write(0x100000, 8, 0x1122334455667788), MemTxResult::Ok);
  EXPECT_EQ(ram.host_ptr()[0], 0x88);  // little-endian
  EXPECT_EQ(ram.host_ptr()[7], 0x11);
  uint64_t v = 0;
  EXPECT_EQ(as.read(0x100002, 2, &v), MemTxResult::Ok);
  EXPECT_EQ(v, 0x5566u);
  const char msg[] = "hello";
  EXPECT_EQ(as.write_buf(0x10fffe, msg, 2), MemTxResult::Ok);
  char out[2];
  EXPECT_EQ(as.read_buf(0x10fffe, out, 2), MemTxResult::Ok);
  EXPECT_EQ(std::memcmp(out, "he", 2), 0);
  // Crossing the end of RAM: the part beyond reads all-ones.
  EXPECT_EQ(as.read(0x10fffe, 4, &v), MemTxResult::DecodeError);
  EXPECT_EQ(v, 0xffff6568u);
}

TEST(MemoryAccess, RomIsReadOnlyToTheGuest) {
  MemoryRegion root, rom;
  root.init_container(nullptr, "root", 0x100000);
  ASSERT_TRUE(rom.init_rom(nullptr, "bios", 0x1000).ok());
  std::memset(rom.host_ptr(), 0x90, 0x1000);  // machina writes ROM through the host pointer
  ASSERT_TRUE(root.add_subregion(0xf000, &rom).ok());
  AddressSpace as(&root, "t");
  EXPECT_EQ(as.write(0xf000, 4, 0), MemTxResult::Ok);  // ignored
  EXPECT_EQ(as.write_buf(0xf010, "xx", 2), MemTxResult::Ok);
  uint64_t v = 0;
  EXPECT_EQ(as.read(0xf000, 4, &v), MemTxResult::Ok);
  EXPECT_EQ(v, 0x90909090u);
  EXPECT_EQ(rom.host_ptr()[0x10], 0x90);
  EXPECT_EQ(ranges_of(as), "f000-ffff bios@0 ro");
}

TEST(MemoryAccess, ReadonlyPropagatesThroughAlias) {
  MemoryRegion root, ram, alias;
  root.init_container(nullptr, "root", 0x100000);
  ASSERT_TRUE(ram.init_ram(nullptr, "ram", 0x1000).ok());
  alias.init_alias(nullptr, "ro-win", &ram, 0, 0x1000);
  alias.set_readonly(true);
  ASSERT_TRUE(root.add_subregion(0, &ram).ok());
  ASSERT_TRUE(root.add_subregion(0x8000, &alias).ok());
  AddressSpace as(&root, "t");
  EXPECT_EQ(as.write(0x8000, 1, 0x42), MemTxResult::Ok);
  EXPECT_EQ(ram.host_ptr()[0], 0);
  EXPECT_EQ(as.write(0x0, 1, 0x42), MemTxResult::Ok);
  EXPECT_EQ(ram.host_ptr()[0], 0x42);
}

TEST(MemoryAccess, TranslateFastPath) {
  MemoryRegion root, ram, rom, io;
  root.init_container(nullptr, "root", UINT64_MAX);
  ASSERT_TRUE(ram.init_ram(nullptr, "ram", 0x4000).ok());
  ASSERT_TRUE(rom.init_rom(nullptr, "rom", 0x1000).ok());
  io.init_io(nullptr, "io", {}, 0x100);
  ASSERT_TRUE(root.add_subregion(0, &ram).ok());
  ASSERT_TRUE(root.add_subregion(0x10000, &rom).ok());
  ASSERT_TRUE(root.add_subregion(0x20000, &io).ok());
  AddressSpace as(&root, "t");
  EpochGuard g;
  MemoryTranslation t = as.translate(0x1234, true);
  EXPECT_EQ(t.host, ram.host_ptr() + 0x1234);
  EXPECT_EQ(t.len, 0x4000u - 0x1234u);
  EXPECT_EQ(t.mr, &ram);
  t = as.translate(0x10010, false);
  EXPECT_EQ(t.host, rom.host_ptr() + 0x10);
  t = as.translate(0x10010, true);  // no direct writes to ROM
  EXPECT_EQ(t.host, nullptr);
  EXPECT_TRUE(t.readonly);
  t = as.translate(0x20000, false);
  EXPECT_EQ(t.host, nullptr);
  EXPECT_EQ(t.mr, &io);
  t = as.translate(0x30000, false);
  EXPECT_EQ(t.mr, nullptr);
}

TEST(MemoryAccess, TopOfAddressSpace) {
  MemoryRegion root, io;
  IoLog log;
  root.init_container(nullptr, "root", UINT64_MAX);
  io.init_io(nullptr, "top", log.ops(1, 1), 0x10);
  ASSERT_TRUE(root.add_subregion(UINT64_MAX - 0xf, &io).ok());
  AddressSpace as(&root, "t");
  EXPECT_EQ(ranges_of(as), "fffffffffffffff0-ffffffffffffffff top@0");
  uint64_t v = 0;
  EXPECT_EQ(as.read(UINT64_MAX, 1, &v), MemTxResult::Ok);
  EXPECT_EQ(v, 0x1fu);
  // Running off the end of the space: the rest is unassigned.
  EXPECT_EQ(as.read(UINT64_MAX - 1, 4, &v), MemTxResult::DecodeError);
  EXPECT_EQ(v, 0xffff1f1eu);
}

}  // namespace
}  // namespace machina::test
