// `info mtree` and `info mtree -f` text, in QEMU's format.
#include <gtest/gtest.h>

#include "memory_test_util.h"

namespace machina::test {
namespace {

struct PcLike {
  MemoryRegion system, io, ram, below4g, vga, bios, hidden, dma;
  std::unique_ptr<AddressSpace> memory, cpu, ioas;

  PcLike() {
    system.init_container(nullptr, "system", UINT64_MAX);
    io.init_container(nullptr, "io", 0x10000);
    EXPECT_TRUE(ram.init_ram(nullptr, "pc.ram", 0x1000000).ok());
    below4g.init_alias(nullptr, "ram-below-4g", &ram, 0, 0x1000000);
    vga.init_io(nullptr, "vga-lowmem", {}, 0x20000);
    EXPECT_TRUE(bios.init_rom(nullptr, "pc.bios", 0x40000).ok());
    hidden.init_io(nullptr, "hidden", {}, 0x1000);
    dma.init_io(nullptr, "dma-chan", {}, 8);
    MemoryTransaction t;
    EXPECT_TRUE(system.add_subregion(0, &below4g).ok());
    EXPECT_TRUE(system.add_subregion(0xa0000, &vga, 1).ok());
    EXPECT_TRUE(system.add_subregion(0xfffc0000, &bios).ok());
    EXPECT_TRUE(system.add_subregion(0x1000000, &hidden).ok());
    hidden.set_enabled(false);
    EXPECT_TRUE(io.add_subregion(0, &dma).ok());
    memory = std::make_unique<AddressSpace>(&system, "memory");
    cpu = std::make_unique<AddressSpace>(&system, "cpu-memory-0");
    ioas = std::make_unique<AddressSpace>(&io, "I/O");
  }
};

TEST(MemoryDump, Tree) {
  PcLike pc;
  EXPECT_EQ(mtree_dump(),
            "address-space: memory\n"
            "address-space: cpu-memory-0\n"
            "  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n"
            "    0000000000000000-0000000000ffffff (prio 0, ram): alias ram-below-4g @pc.ram "
            "0000000000000000-0000000000ffffff\n"
            "    00000000000a0000-00000000000bffff (prio 1, i/o): vga-lowmem\n"
            "    00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\n"
            "\n"
            "address-space: I/O\n"
            "  0000000000000000-000000000000ffff (prio 0, i/o): io\n"
            "    0000000000000000-0000000000000007 (prio 0, i/o): dma-chan\n"
            "\n"
            "memory-region: pc.ram\n"
            "  0000000000000000-0000000000ffffff (prio 0, ram): pc.ram\n"
            "\n");
}

TEST(MemoryDump, TreeWithDisabledAndOwners) {
  PcLike pc;
  auto owner = new_owner();
  MemoryRegion owned;
  owned.init_io(owner.get(), "owned", {}, 0x10);
  ASSERT_TRUE(pc.io.add_subregion(0x60, &owned).ok());
  std::string out = mtree_dump(MtreeOptions{.owner = true, .disabled = true});
  EXPECT_NE(out.find("    0000000001000000-0000000001000fff (prio 0, i/o): hidden [disabled] "
                     "orphan\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("    0000000000000060-000000000000006f (prio 0, i/o): owned "
                     "owner:{obj type=test-mem-owner}\n"),
            std::string::npos)
      << out;
  ASSERT_TRUE(pc.io.del_subregion(&owned).ok());
}

TEST(MemoryDump, FlatViews) {
  PcLike pc;
  EXPECT_EQ(mtree_dump(MtreeOptions{.flatview = true}),
            "FlatView #0\n"
            " AS \"memory\", root: system\n"
            " AS \"cpu-memory-0\", root: system\n"
            " Root memory region: system\n"
            "  0000000000000000-000000000009ffff (prio 0, ram): pc.ram\n"
            "  00000000000a0000-00000000000bffff (prio 1, i/o): vga-lowmem\n"
            "  00000000000c0000-0000000000ffffff (prio 0, ram): pc.ram @00000000000c0000\n"
            "  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\n"
            "\n"
            "FlatView #1\n"
            " AS \"I/O\", root: io\n"
            " Root memory region: io\n"
            "  0000000000000000-0000000000000007 (prio 0, i/o): dma-chan\n"
            "\n");
}

TEST(MemoryDump, EmptyFlatView) {
  MemoryRegion root;
  root.init_container(nullptr, "empty", 0x1000);
  AddressSpace as(&root, "nothing");
  EXPECT_EQ(flatview_dump(as), "  No rendered FlatView\n\n");
}

}  // namespace
}  // namespace machina::test
