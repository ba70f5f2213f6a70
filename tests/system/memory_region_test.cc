// Region trees rendered into flat views: priorities, overlaps, aliases, enable/disable, moves.
#include <gtest/gtest.h>

#include "memory_test_util.h"

namespace machina::test {
namespace {

struct Leaves {
  MemoryRegion a, b, c;
  Leaves() {
    a.init_io(nullptr, "a", {}, 0x1000);
    b.init_io(nullptr, "b", {}, 0x1000);
    c.init_io(nullptr, "c", {}, 0x1000);
  }
};

TEST(MemoryRegion, EmptyRootRendersNothing) {
  MemoryRegion root;
  root.init_container(nullptr, "root", UINT64_MAX);
  AddressSpace as(&root, "t");
  EXPECT_EQ(ranges_of(as), "");
  EXPECT_EQ(root.size(), UINT64_MAX);
  EXPECT_EQ(root.size128(), static_cast<unsigned __int128>(1) << 64);
}

TEST(MemoryRegion, HigherPriorityWinsOverlap) {
  MemoryRegion root;
  root.init_container(nullptr, "root", 0x10000);
  Leaves l;
  ASSERT_TRUE(root.add_subregion(0x1000, &l.a, 1).ok());
  ASSERT_TRUE(root.add_subregion(0x1800, &l.b, 0).ok());  // lower: only its tail shows
  AddressSpace as(&root, "t");
  EXPECT_EQ(ranges_of(as), "1000-1fff a@0; 2000-27ff b@800");
}

TEST(MemoryRegion, LowerPriorityAddedLaterStaysBelow) {
  MemoryRegion root;
  root.init_container(nullptr, "root", 0x10000);
  Leaves l;
  ASSERT_TRUE(root.add_subregion(0x1800, &l.b, 2).ok());
  ASSERT_TRUE(root.add_subregion(0x1000, &l.a, 1).ok());
  AddressSpace as(&root, "t");
  EXPECT_EQ(ranges_of(as), "1000-17ff a@0; 1800-27ff b@0");
}

TEST(MemoryRegion, EqualPriorityLaterAddedWins) {
  MemoryRegion root;
  root.init_container(nullptr, "root", 0x10000);
  Leaves l;
  ASSERT_TRUE(root.add_subregion(0x1000, &l.a).ok());
  ASSERT_TRUE(root.add_subregion(0x1800, &l.b).ok());
  AddressSpace as(&root, "t");
  EXPECT_EQ(ranges_of(as), "1000-17ff a@0; 1800-27ff b@0");
  // Removing b uncovers a again.
  ASSERT_TRUE(root.del_subregion(&l.b).ok());
  EXPECT_EQ(ranges_of(as), "1000-1fff a@0");
}

TEST(MemoryRegion, HoleInTheMiddleSplitsLowerRegion) {
  MemoryRegion root, ram;
  root.init_container(nullptr, "root", 0x100000);
  ASSERT_TRUE(ram.init_ram(nullptr, "ram", 0x10000).ok());
  Leaves l;
  ASSERT_TRUE(root.add_subregion(0, &ram).ok());
  ASSERT_TRUE(root.add_subregion(0x4000, &l.a, 1).ok());
  AddressSpace as(&root, "t");
  EXPECT_EQ(ranges_of(as), "0-3fff ram@0; 4000-4fff a@0; 5000-ffff ram@5000");
  // Once the hole goes away the two RAM pieces merge again.
  l.a.set_enabled(false);
  EXPECT_EQ(ranges_of(as), "0-ffff ram@0");
}

TEST(MemoryRegion, ContainerClipsSubregions) {
  MemoryRegion root, bus;
  root.init_container(nullptr, "root", 0x100000);
  bus.init_container(nullptr, "bus", 0x1800);
  Leaves l;
  ASSERT_TRUE(bus.add_subregion(0x1000, &l.a).ok());  // only 0x800 bytes fit in the bus
  ASSERT_TRUE(root.add_subregion(0x10000, &bus).ok());
  AddressSpace as(&root, "t");
  EXPECT_EQ(ranges_of(as), "11000-117ff a@0");
}

TEST(MemoryRegion, TerminatingRegionWithSubregions) {
  // A RAM region with an I/O subregion on top (QEMU allows subregions of any region).
  MemoryRegion root, ram;
  root.init_container(nullptr, "root", 0x100000);
  ASSERT_TRUE(ram.init_ram(nullptr, "ram", 0x4000).ok());
  Leaves l;
  ASSERT_TRUE(ram.add_subregion(0x1000, &l.a).ok());
  ASSERT_TRUE(root.add_subregion(0x8000, &ram).ok());
  AddressSpace as(&root, "t");
  EXPECT_EQ(ranges_of(as), "8000-8fff ram@0; 9000-9fff a@0; a000-bfff ram@2000");
}

TEST(MemoryRegion, AliasWindowIntoRam) {
  MemoryRegion root, ram, alias;
  root.init_container(nullptr, "root", 0x100000);
  ASSERT_TRUE(ram.init_ram(nullptr, "ram", 0x10000).ok());
  alias.init_alias(nullptr, "ram-hi", &ram, 0x8000, 0x4000);
  ASSERT_TRUE(root.add_subregion(0x40000, &alias).ok());
  AddressSpace as(&root, "t");
  EXPECT_EQ(ranges_of(as), "40000-43fff ram@8000");
  // The alias sees the RAM's bytes.
  ram.host_ptr()[0x8010] = 0x5a;
  uint64_t v = 0;
  EXPECT_EQ(as.read(0x40010, 1, &v), MemTxResult::Ok);
  EXPECT_EQ(v, 0x5au);
  alias.set_alias_offset(0x1000);
  EXPECT_EQ(ranges_of(as), "40000-43fff ram@1000");
}

TEST(MemoryRegion, AliasOfContainerAndNestedAlias) {
  MemoryRegion root, bus, alias1, alias2;
  root.init_container(nullptr, "root", 0x1000000);
  bus.init_container(nullptr, "bus", 0x10000);
  Leaves l;
  ASSERT_TRUE(bus.add_subregion(0x1000, &l.a).ok());
  ASSERT_TRUE(bus.add_subregion(0x3000, &l.b).ok());
  // alias1 shows bus[0x800, 0x3800) at 0x100000; alias2 shows alias1[0x2000, 0x3000).
  alias1.init_alias(nullptr, "alias1", &bus, 0x800, 0x3000);
  alias2.init_alias(nullptr, "alias2", &alias1, 0x2000, 0x1000);
  ASSERT_TRUE(root.add_subregion(0x100000, &alias1).ok());
  ASSERT_TRUE(root.add_subregion(0x200000, &alias2).ok());
  AddressSpace as(&root, "t");
  EXPECT_EQ(ranges_of(as),
            "100800-1017ff a@0; 102800-102fff b@0; "  // alias1: a at 0x800, b up to 0x3000
            "200800-200fff b@0");                     // alias2: alias1 0x2800.. = bus 0x3000..
}

TEST(MemoryRegion, AliasedContainerIsNotMappedItself) {
  // The bus is only reachable through the alias; moving it within nothing is harmless.
  MemoryRegion root, bus, alias;
  root.init_container(nullptr, "root", 0x100000);
  bus.init_container(nullptr, "bus", 0x2000);
  Leaves l;
  ASSERT_TRUE(bus.add_subregion(0, &l.a).ok());
  alias.init_alias(nullptr, "win", &bus, 0, 0x2000);
  ASSERT_TRUE(root.add_subregion(0x5000, &alias).ok());
  AddressSpace as(&root, "t");
  EXPECT_EQ(ranges_of(as), "5000-5fff a@0");
  // Changes inside the aliased container show through the alias.
  ASSERT_TRUE(bus.add_subregion(0x1000, &l.b).ok());
  EXPECT_EQ(ranges_of(as), "5000-5fff a@0; 6000-6fff b@0");
}

TEST(MemoryRegion, EnableDisableAndMove) {
  MemoryRegion root;
  root.init_container(nullptr, "root", 0x100000);
  Leaves l;
  ASSERT_TRUE(root.add_subregion(0x1000, &l.a).ok());
  AddressSpace as(&root, "t");
  l.a.set_enabled(false);
  EXPECT_EQ(ranges_of(as), "");
  EXPECT_FALSE(l.a.enabled());
  l.a.set_enabled(true);
  EXPECT_EQ(ranges_of(as), "1000-1fff a@0");
  l.a.set_address(0x8000);
  EXPECT_EQ(l.a.addr(), 0x8000u);
  EXPECT_EQ(ranges_of(as), "8000-8fff a@0");
  l.a.set_size(0x2000);
  EXPECT_EQ(ranges_of(as), "8000-9fff a@0");
}

TEST(MemoryRegion, MoveMakesRegionNewestAmongEqualPriority) {
  MemoryRegion root;
  root.init_container(nullptr, "root", 0x100000);
  Leaves l;
  ASSERT_TRUE(root.add_subregion(0x1000, &l.a).ok());
  ASSERT_TRUE(root.add_subregion(0x1000, &l.b).ok());
  AddressSpace as(&root, "t");
  EXPECT_EQ(ranges_of(as), "1000-1fff b@0");
  l.a.set_address(0x1800);  // re-added, as QEMU: now on top of b
  EXPECT_EQ(ranges_of(as), "1000-17ff b@0; 1800-27ff a@0");
}

TEST(MemoryRegion, TransactionRendersOnceAtCommit) {
  MemoryRegion root;
  root.init_container(nullptr, "root", 0x100000);
  Leaves l;
  AddressSpace as(&root, "t");
  {
    MemoryTransaction t;
    ASSERT_TRUE(root.add_subregion(0x1000, &l.a).ok());
    ASSERT_TRUE(root.add_subregion(0x2000, &l.b).ok());
    EXPECT_EQ(ranges_of(as), "");  // nothing published before the commit
  }
  EXPECT_EQ(ranges_of(as), "1000-1fff a@0; 2000-2fff b@0");
}

TEST(MemoryRegion, BadTreeOperationsAreErrors) {
  MemoryRegion root, other, bus;
  root.init_container(nullptr, "root", 0x100000);
  other.init_container(nullptr, "other", 0x100000);
  bus.init_container(nullptr, "bus", 0x1000);
  Leaves l;
  ASSERT_TRUE(root.add_subregion(0, &l.a).ok());
  Status s = other.add_subregion(0, &l.a);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "memory region 'a' is already mapped in 'root'");
  EXPECT_FALSE(root.del_subregion(&l.b).ok());
  EXPECT_FALSE(root.add_subregion(0, nullptr).ok());
  EXPECT_FALSE(root.add_subregion(0, &root).ok());
  ASSERT_TRUE(root.add_subregion(0x1000, &bus).ok());
  EXPECT_FALSE(bus.add_subregion(0, &root).ok());  // would make a cycle
}

TEST(MemoryRegion, DestroyingAMappedRegionUnmapsIt) {
  MemoryRegion root;
  root.init_container(nullptr, "root", 0x100000);
  AddressSpace as(&root, "t");
  {
    MemoryRegion tmp;
    tmp.init_io(nullptr, "tmp", {}, 0x1000);
    ASSERT_TRUE(root.add_subregion(0, &tmp).ok());
    EXPECT_EQ(ranges_of(as), "0-fff tmp@0");
    EXPECT_EQ(tmp.view_refs(), 1u);
  }
  EXPECT_EQ(ranges_of(as), "");
  EXPECT_TRUE(root.subregions().empty());
}

TEST(MemoryRegion, ViewsHoldOwnerReferences) {
  std::atomic<bool> finalized{false};
  MemoryRegion root;
  root.init_container(nullptr, "root", 0x100000);
  AddressSpace as(&root, "t");
  auto owner = new_owner(&finalized);
  MemOwner* raw = owner.get();
  raw->mr.init_io(raw, "dev", {}, 0x100);
  uint32_t before = raw->refcount();
  ASSERT_TRUE(root.add_subregion(0x1000, &raw->mr).ok());
  ASSERT_TRUE(epoch_drain().ok());
  EXPECT_EQ(raw->refcount(), before + 1);  // the published view's reference
  owner.reset();                           // the device's creator lets go...
  ASSERT_TRUE(epoch_drain().ok());
  EXPECT_FALSE(finalized.load());  // ...but the view still maps it
  ASSERT_TRUE(root.del_subregion(&raw->mr).ok());
  ASSERT_TRUE(epoch_drain().ok());
  EXPECT_TRUE(finalized.load());
}

TEST(MemoryRegion, TypeWords) {
  MemoryRegion ram, rom, io, cont, alias;
  ASSERT_TRUE(ram.init_ram(nullptr, "ram", 0x1000).ok());
  ASSERT_TRUE(rom.init_rom(nullptr, "rom", 0x1000).ok());
  io.init_io(nullptr, "io", {}, 0x10);
  cont.init_container(nullptr, "c", 0x10);
  alias.init_alias(nullptr, "al", &rom, 0, 0x10);
  EXPECT_STREQ(ram.type_word(), "ram");
  EXPECT_STREQ(rom.type_word(), "rom");
  EXPECT_STREQ(io.type_word(), "i/o");
  EXPECT_STREQ(cont.type_word(), "i/o");
  EXPECT_STREQ(alias.type_word(), "rom");
  EXPECT_TRUE(rom.is_rom());
  EXPECT_TRUE(rom.is_ram());
  EXPECT_FALSE(ram.is_rom());
}

TEST(MemoryRegion, MemfdBackedRam) {
  MemoryRegion ram;
  ASSERT_TRUE(ram.init_ram(nullptr, "memfd-ram", 0x200000, RamBacking::Memfd).ok());
  EXPECT_GE(ram.ram_fd(), 0);
  ASSERT_NE(ram.host_ptr(), nullptr);
  ram.host_ptr()[0x1fffff] = 7;
  EXPECT_EQ(ram.host_ptr()[0x1fffff], 7);
}

TEST(MemoryRegion, ImpossibleRamSizeIsAnError) {
  MemoryRegion ram;
  Status s = ram.init_ram(nullptr, "huge", uint64_t{1} << 60);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "cannot set up guest memory 'huge': Cannot allocate memory");
  EXPECT_EQ(ram.host_ptr(), nullptr);
}

}  // namespace
}  // namespace machina::test
