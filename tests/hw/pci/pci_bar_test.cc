// BARs as a guest programs them: sizing with all-ones, placing, decoding only while COMMAND
// enables it, 64-bit BARs, and the addresses QEMU refuses to map.
#include "pci_fixture.h"

namespace machina::test {
namespace {

constexpr int kDev = pci_devfn(3, 0);
constexpr unsigned kBar0 = pci::kBaseAddress0;
constexpr unsigned kBar1 = pci::kBaseAddress0 + 4;
constexpr unsigned kBar2 = pci::kBaseAddress0 + 8;
constexpr unsigned kBar3 = pci::kBaseAddress0 + 12;

class PciBarTest : public PciTest {
 protected:
  void SetUp() override {
    PciTest::SetUp();
    dev = add_test("3.0");
    ASSERT_NE(dev, nullptr);
  }
  // Linux's __pci_read_base: save, write all-ones, read the mask, restore.
  uint32_t size_bar(unsigned reg) {
    uint32_t saved = cf8_read(kDev, reg, 4);
    cf8_write(kDev, reg, 0xffffffff, 4);
    uint32_t mask = cf8_read(kDev, reg, 4);
    cf8_write(kDev, reg, saved, 4);
    return mask;
  }
  bool mem_decodes(uint64_t addr, uint64_t expect) {
    uint64_t v = 0;
    return mem_read_result(addr, 4, &v) == MemTxResult::Ok && v == expect;
  }
  TestPciDevice* dev = nullptr;
};

TEST_F(PciBarTest, TypeBitsAfterReset) {
  EXPECT_EQ(cf8_read(kDev, kBar0, 4), 0x00000001u);  // I/O
  EXPECT_EQ(cf8_read(kDev, kBar1, 4), 0x00000000u);  // 32-bit memory
  EXPECT_EQ(cf8_read(kDev, kBar2, 4), 0x0000000cu);  // 64-bit prefetchable
  EXPECT_EQ(cf8_read(kDev, kBar3, 4), 0x00000000u);
  EXPECT_EQ(cf8_read(kDev, pci::kBaseAddress0 + 16, 4), 0u);  // BAR4: not implemented
}

TEST_F(PciBarTest, SizingReturnsTheSizeMask) {
  EXPECT_EQ(size_bar(kBar0), 0xffffffe1u);  // 32 bytes of I/O
  EXPECT_EQ(size_bar(kBar1), 0xfffff000u);  // 4 KiB
  EXPECT_EQ(size_bar(kBar2), 0xffffc00cu);  // 16 KiB, 64-bit prefetchable
  EXPECT_EQ(size_bar(kBar3), 0xffffffffu);  // upper half: all address bits
  EXPECT_EQ(size_bar(pci::kBaseAddress0 + 16), 0u);
  // Restored values are back.
  EXPECT_EQ(cf8_read(kDev, kBar1, 4), 0u);
  // Low bits below the size are read-only zero.
  cf8_write(kDev, kBar1, 0xfe000fff, 4);
  EXPECT_EQ(cf8_read(kDev, kBar1, 4), 0xfe000000u);
}

TEST_F(PciBarTest, MemoryBarDecodesOnlyWithCommandMemory) {
  cf8_write(kDev, kBar1, 0xfebf0000, 4);
  EXPECT_FALSE(mem_decodes(0xfebf0000, 0x1000));
  EXPECT_EQ(dev->bar_address(1), kPciBarUnmapped);
  cf8_write(kDev, pci::kCommand, pci::kCommandMemory, 2);
  EXPECT_TRUE(mem_decodes(0xfebf0000, 0x1000));
  EXPECT_TRUE(mem_decodes(0xfebf0010, 0x1010));
  EXPECT_EQ(dev->region(1).addr, 0xfebf0000u);
  mem_write(0xfebf0044, 4, 0x55aa);
  ASSERT_FALSE(dev->writes.empty());
  EXPECT_EQ(dev->writes.back().bar, 1);
  EXPECT_EQ(dev->writes.back().offset, 0x44u);
  EXPECT_EQ(dev->writes.back().value, 0x55aau);
  // I/O decode alone does not enable memory BARs.
  cf8_write(kDev, pci::kCommand, pci::kCommandIo, 2);
  EXPECT_FALSE(mem_decodes(0xfebf0000, 0x1000));
  cf8_write(kDev, pci::kCommand, pci::kCommandMemory, 2);
  EXPECT_TRUE(mem_decodes(0xfebf0000, 0x1000));
  cf8_write(kDev, pci::kCommand, 0, 2);
  EXPECT_FALSE(mem_decodes(0xfebf0000, 0x1000));
}

TEST_F(PciBarTest, IoBarDecodesOnlyWithCommandIo) {
  cf8_write(kDev, kBar0, 0xc000, 4);
  EXPECT_EQ(io_read(0xc004, 1), 0xffu);
  cf8_write(kDev, pci::kCommand, pci::kCommandMemory, 2);
  EXPECT_EQ(io_read(0xc004, 1), 0xffu);
  cf8_write(kDev, pci::kCommand, pci::kCommandIo, 2);
  EXPECT_EQ(io_read(0xc004, 1), 0xa4u);
  EXPECT_EQ(io_read(0xc01f, 1), 0xbfu);
  EXPECT_EQ(io_read(0xc020, 1), 0xffu);  // past the 32 bytes
  io_write(0xc002, 2, 0x1234);
  ASSERT_FALSE(dev->writes.empty());
  EXPECT_EQ(dev->writes.back().bar, 0);
  EXPECT_EQ(dev->writes.back().offset, 2u);
  cf8_write(kDev, pci::kCommand, 0, 2);
  EXPECT_EQ(io_read(0xc004, 1), 0xffu);
}

TEST_F(PciBarTest, MovingABarUnmapsTheOldRange) {
  cf8_write(kDev, kBar1, 0xfebf0000, 4);
  cf8_write(kDev, pci::kCommand, pci::kCommandMemory, 2);
  EXPECT_TRUE(mem_decodes(0xfebf0000, 0x1000));
  cf8_write(kDev, kBar1, 0xfeb00000, 4);
  EXPECT_FALSE(mem_decodes(0xfebf0000, 0x1000));
  EXPECT_TRUE(mem_decodes(0xfeb00000, 0x1000));
}

TEST_F(PciBarTest, SixtyFourBitBarUsesTheHighDword) {
  cf8_write(kDev, kBar2, 0x00000000, 4);
  cf8_write(kDev, kBar3, 0x00000008, 4);  // 0x8_0000_0000
  cf8_write(kDev, kBar2, 0x00100000, 4);
  EXPECT_EQ(cf8_read(kDev, kBar2, 4), 0x0010000cu);
  EXPECT_EQ(cf8_read(kDev, kBar3, 4), 0x00000008u);
  cf8_write(kDev, pci::kCommand, pci::kCommandMemory, 2);
  EXPECT_EQ(dev->region(2).addr, 0x800100000ull);
  EXPECT_TRUE(mem_decodes(0x800100000ull, 0x2000));
  EXPECT_TRUE(mem_decodes(0x800103ffcull, 0x2000 + 0x3ffc));
  EXPECT_FALSE(mem_decodes(0x000100000ull, 0x2000));
  // Changing only the high dword moves it.
  cf8_write(kDev, kBar3, 0x00000009, 4);
  EXPECT_FALSE(mem_decodes(0x800100000ull, 0x2000));
  EXPECT_TRUE(mem_decodes(0x900100000ull, 0x2000));
  // A 64-bit BAR may sit below 4 GiB too.
  cf8_write(kDev, kBar3, 0, 4);
  EXPECT_TRUE(mem_decodes(0x00100000ull, 0x2000));
}

TEST_F(PciBarTest, ZeroAndAllOnesAddressesAreNotMapped) {
  cf8_write(kDev, pci::kCommand, pci::kCommandMemory | pci::kCommandIo, 2);
  // Address 0: not decoded (QEMU's rule for machines without pci_allow_0_address).
  EXPECT_EQ(dev->bar_address(1), kPciBarUnmapped);
  EXPECT_EQ(dev->bar_address(0), kPciBarUnmapped);
  // All-ones while sizing with decode on: the 32-bit range would reach 4 GiB, not mapped.
  cf8_write(kDev, kBar1, 0xffffffff, 4);
  EXPECT_EQ(cf8_read(kDev, kBar1, 4), 0xfffff000u);
  EXPECT_EQ(dev->bar_address(1), kPciBarUnmapped);
  EXPECT_FALSE(mem_decodes(0xfffff000, 0x1000));
  cf8_write(kDev, kBar0, 0xffffffff, 4);
  EXPECT_EQ(dev->bar_address(0), kPciBarUnmapped);
  // A 64-bit BAR at the very top of the address space is not mapped either.
  cf8_write(kDev, kBar2, 0xffffffff, 4);
  cf8_write(kDev, kBar3, 0xffffffff, 4);
  EXPECT_EQ(dev->bar_address(2), kPciBarUnmapped);
  // Back to sensible values: mapped.
  cf8_write(kDev, kBar1, 0xfebf0000, 4);
  EXPECT_TRUE(mem_decodes(0xfebf0000, 0x1000));
}

TEST_F(PciBarTest, OverlappingBarsAreMappedNewestOnTop) {
  TestPciDevice* other = add_test("4.0");
  ASSERT_NE(other, nullptr);
  int d2 = pci_devfn(4, 0);
  cf8_write(kDev, kBar1, 0xfebf0000, 4);
  cf8_write(kDev, pci::kCommand, pci::kCommandMemory, 2);
  // The second device's 16 KiB BAR covers the first one's 4 KiB: both are mapped (as QEMU), the
  // newest mapping wins where they overlap, and the first returns when the second moves away.
  cf8_write(d2, kBar2, 0xfebf0000, 4);
  cf8_write(d2, pci::kCommand, pci::kCommandMemory, 2);
  EXPECT_EQ(dev->region(1).addr, 0xfebf0000u);
  EXPECT_EQ(other->region(2).addr, 0xfebf0000u);
  EXPECT_TRUE(mem_decodes(0xfebf0000, 0x2000));
  cf8_write(d2, kBar2, 0xfe000000, 4);
  EXPECT_TRUE(mem_decodes(0xfebf0000, 0x1000));
  EXPECT_TRUE(mem_decodes(0xfe000000, 0x2000));
}

TEST_F(PciBarTest, RamWinsOverABarPlacedOnIt) {
  MemoryRegion ram;
  ASSERT_TRUE(ram.init_ram(nullptr, "test-ram", 0x100000).ok());
  ASSERT_TRUE(get_system_memory()->add_subregion(0x100000, &ram).ok());
  mem_write(0x100000, 4, 0x12345678);
  cf8_write(kDev, kBar1, 0x100000, 4);
  cf8_write(kDev, pci::kCommand, pci::kCommandMemory, 2);
  EXPECT_EQ(mem_read(0x100000, 4), 0x12345678u);  // the PCI window is below RAM
  cf8_write(kDev, pci::kCommand, 0, 2);
  ASSERT_TRUE(get_system_memory()->del_subregion(&ram).ok());
}

TEST_F(PciBarTest, UnplugUnmapsTheBars) {
  cf8_write(kDev, kBar1, 0xfebf0000, 4);
  cf8_write(kDev, pci::kCommand, pci::kCommandMemory, 2);
  EXPECT_TRUE(mem_decodes(0xfebf0000, 0x1000));
  dev->unparent();
  dev = nullptr;
  EXPECT_FALSE(mem_decodes(0xfebf0000, 0x1000));
  EXPECT_EQ(cf8_read(kDev, pci::kVendorId, 2), 0xffffu);
}

TEST_F(PciBarTest, SlotPowerOffHidesAndResetsTheFunction) {
  cf8_write(kDev, kBar1, 0xfebf0000, 4);
  cf8_write(kDev, pci::kCommand, pci::kCommandMemory, 2);
  EXPECT_TRUE(mem_decodes(0xfebf0000, 0x1000));
  dev->set_power(false);
  EXPECT_FALSE(mem_decodes(0xfebf0000, 0x1000));
  EXPECT_EQ(cf8_read(kDev, pci::kVendorId, 4), 0xffffffffu);
  cf8_write(kDev, pci::kCommand, pci::kCommandMemory, 2);  // dropped
  dev->set_power(true);
  EXPECT_EQ(cf8_read(kDev, pci::kVendorId, 2), kTestPciVendor);
  EXPECT_EQ(cf8_read(kDev, pci::kCommand, 2), 0u);
  EXPECT_EQ(cf8_read(kDev, kBar1, 4), 0u);
}

TEST_F(PciBarTest, ResetClearsCommandAndBars) {
  cf8_write(kDev, kBar1, 0xfebf0000, 4);
  cf8_write(kDev, kBar0, 0xc000, 4);
  cf8_write(kDev, pci::kCommand, pci::kCommandMemory | pci::kCommandIo | pci::kCommandMaster, 2);
  cf8_write(kDev, pci::kInterruptLine, 11, 1);
  cf8_write(pci_devfn(31, 0), ich9::kPirqaRout, 0x0b, 1);
  EXPECT_TRUE(mem_decodes(0xfebf0000, 0x1000));
  qdev_reset_all(*sysbus_get_default());
  EXPECT_EQ(cf8_read(kDev, pci::kCommand, 2), 0u);
  EXPECT_EQ(cf8_read(kDev, kBar1, 4), 0u);
  EXPECT_EQ(cf8_read(kDev, kBar0, 4), 1u);
  EXPECT_EQ(cf8_read(kDev, pci::kInterruptLine, 1), 0u);
  EXPECT_FALSE(mem_decodes(0xfebf0000, 0x1000));
  EXPECT_EQ(io_read(0xc000, 1), 0xffu);
  // The chipset is back to its reset state too.
  EXPECT_EQ(cf8_read(pci_devfn(31, 0), ich9::kPirqaRout, 4), 0x80808080u);
}

}  // namespace
}  // namespace machina::test
