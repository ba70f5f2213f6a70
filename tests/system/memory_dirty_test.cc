// Dirty-page logging in the memory API: per-region bitmaps, global start/stop, sync through the
// listeners, and the writers that mark pages (address space accesses, DMA, host pointers).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "memory_test_util.h"
#include "system/dirty_log.h"

namespace machina::test {
namespace {

constexpr uint64_t kPage = kDirtyPageSize;

struct DirtyFixture : ::testing::Test {
  MemoryRegion root, ram, ram2, rom, alias;
  std::unique_ptr<AddressSpace> as;

  void SetUp() override {
    root.init_container(nullptr, "root", UINT64_MAX);
    ASSERT_TRUE(ram.init_ram(nullptr, "ram", 16 * kPage).ok());
    ASSERT_TRUE(ram2.init_ram(nullptr, "ram2", 4 * kPage).ok());
    ASSERT_TRUE(rom.init_rom(nullptr, "rom", kPage).ok());
    // ram2's pages 1..2 also appear at 0x100000 (an alias maps the same bits).
    alias.init_alias(nullptr, "alias", &ram2, kPage, 2 * kPage);
    ASSERT_TRUE(root.add_subregion(0, &ram).ok());
    ASSERT_TRUE(root.add_subregion(0x10000, &ram2).ok());
    ASSERT_TRUE(root.add_subregion(0x20000, &rom).ok());
    ASSERT_TRUE(root.add_subregion(0x100000, &alias).ok());
    as = std::make_unique<AddressSpace>(&root, "dirty");
  }
  void TearDown() override {
    memory_global_dirty_log_stop(kGlobalDirtyMigration | kGlobalDirtyDirtyRate);
    as.reset();
  }
  std::vector<uint64_t> take_all() { return address_space_dirty_pages_and_clear(*as, 0, 1 << 24); }
};

TEST_F(DirtyFixture, NothingIsMarkedWhileLoggingIsOff) {
  ASSERT_FALSE(memory_global_dirty_log_active());
  ASSERT_EQ(as->write(0x1000, 4, 1), MemTxResult::Ok);
  uint8_t b[16] = {};
  ASSERT_TRUE(dma_write(*as, 0x2000, b, sizeof b).ok());
  ram_mark_dirty_host(ram.host_ptr(), kPage);
  EXPECT_FALSE(memory_region_get_dirty(ram, 0, ram.size()));
  EXPECT_TRUE(take_all().empty());
}

TEST_F(DirtyFixture, RegionBitmapMarksAndClearsPages) {
  memory_global_dirty_log_start();
  EXPECT_TRUE(memory_global_dirty_log_active());
  // A write of 2 bytes across the boundary of pages 2 and 3, and one in page 7.
  memory_region_set_dirty(ram, 3 * kPage - 1, 2);
  memory_region_set_dirty(ram, 7 * kPage + 100, 1);
  EXPECT_TRUE(memory_region_get_dirty(ram, 2 * kPage, 1));
  EXPECT_TRUE(memory_region_get_dirty(ram, 3 * kPage, kPage));
  EXPECT_FALSE(memory_region_get_dirty(ram, 4 * kPage, 3 * kPage));
  EXPECT_FALSE(memory_region_get_dirty(ram2, 0, ram2.size()));  // other regions untouched

  // A snapshot of pages 3..15 takes 3 and 7 and leaves page 2.
  DirtyBitmapSnapshot s = memory_region_snapshot_and_clear_dirty(ram, 3 * kPage + 5, 13 * kPage);
  EXPECT_EQ(s.start, 3 * kPage);
  EXPECT_EQ(s.pages, 13u);
  EXPECT_EQ(s.dirty_offsets(), (std::vector<uint64_t>{3 * kPage, 7 * kPage}));
  EXPECT_TRUE(s.get_dirty(7 * kPage + 10, 1));
  EXPECT_FALSE(s.get_dirty(4 * kPage, 3 * kPage));
  EXPECT_FALSE(memory_region_get_dirty(ram, 3 * kPage, 13 * kPage));
  EXPECT_TRUE(memory_region_get_dirty(ram, 2 * kPage, 1));
  // Taken once: a second snapshot is empty.
  EXPECT_TRUE(memory_region_snapshot_and_clear_dirty(ram, 0, 3 * kPage).get_dirty(2 * kPage, 1));
  EXPECT_TRUE(memory_region_snapshot_and_clear_dirty(ram, 0, ram.size()).dirty_offsets().empty());
}

TEST_F(DirtyFixture, BitsAcrossWordBoundaries) {
  MemoryRegion big;
  ASSERT_TRUE(big.init_ram(nullptr, "big", 200 * kPage).ok());
  memory_global_dirty_log_start();
  memory_region_set_dirty(big, 60 * kPage, 10 * kPage);  // pages 60..69: two bitmap words
  memory_region_set_dirty(big, 199 * kPage, 1 << 20);    // runs past the end: clipped
  auto offs = memory_region_snapshot_and_clear_dirty(big, 0, big.size()).dirty_offsets();
  std::vector<uint64_t> want;
  for (uint64_t p = 60; p < 70; ++p) want.push_back(p * kPage);
  want.push_back(199 * kPage);
  EXPECT_EQ(offs, want);
}

TEST_F(DirtyFixture, AddressSpaceWritesMarkTheirPages) {
  memory_global_dirty_log_start();
  ASSERT_EQ(as->write(0x3008, 8, 0x1122334455667788), MemTxResult::Ok);
  std::vector<uint8_t> buf(kPage + 2, 0x5a);
  ASSERT_EQ(as->write_buf(0x5fff, buf.data(), buf.size()), MemTxResult::Ok);  // pages 5, 6, 7
  ASSERT_EQ(as->write(0x20000, 4, 1), MemTxResult::Ok);                       // ROM: ignored
  EXPECT_EQ(take_all(), (std::vector<uint64_t>{0x3000, 0x5000, 0x6000, 0x7000}));
  EXPECT_TRUE(take_all().empty());
  // Reads mark nothing.
  uint64_t v;
  ASSERT_EQ(as->read(0x3008, 8, &v), MemTxResult::Ok);
  EXPECT_EQ(v, 0x1122334455667788u);
  ASSERT_EQ(as->read_buf(0x5fff, buf.data(), buf.size()), MemTxResult::Ok);
  EXPECT_TRUE(take_all().empty());
}

TEST_F(DirtyFixture, DmaWritesMarkPagesAcrossRegions) {
  memory_global_dirty_log_start();
  std::vector<uint8_t> data(3 * kPage, 0xab);
  ASSERT_TRUE(dma_write(*as, 0x10000 - kPage, data.data(), data.size()).ok());  // ram → ram2
  EXPECT_TRUE(memory_region_get_dirty(ram, 15 * kPage, 1));
  EXPECT_TRUE(memory_region_get_dirty(ram2, 0, 2 * kPage));
  EXPECT_FALSE(memory_region_get_dirty(ram2, 2 * kPage, 1));
  // A DMA read marks nothing; a failed DMA write neither.
  ASSERT_TRUE(dma_read(*as, 0x8000, data.data(), 16).ok());
  EXPECT_FALSE(dma_write(*as, 0x20000, data.data(), 16).ok());
  // ram2's page 1 is also the alias's first page: taken with ram2's range, reported once.
  EXPECT_EQ(take_all(), (std::vector<uint64_t>{0xf000, 0x10000, 0x11000}));
}

TEST_F(DirtyFixture, AliasAndRegionShareTheBitmap) {
  memory_global_dirty_log_start();
  ASSERT_EQ(as->write(0x100000 + 0x10, 4, 7), MemTxResult::Ok);  // alias page 0 = ram2 page 1
  EXPECT_TRUE(memory_region_get_dirty(ram2, kPage, 1));
  // Asking for ram2's addresses takes the bit; the alias sees it gone.
  EXPECT_EQ(address_space_dirty_pages_and_clear(*as, 0x10000, 4 * kPage),
            (std::vector<uint64_t>{0x11000}));
  EXPECT_FALSE(address_space_test_and_clear_dirty(*as, 0x100000, 2 * kPage));
  ASSERT_EQ(as->write(0x11000, 1, 7), MemTxResult::Ok);
  EXPECT_TRUE(address_space_test_and_clear_dirty(*as, 0x100000, 2 * kPage));
  EXPECT_FALSE(address_space_test_and_clear_dirty(*as, 0x10000, 4 * kPage));
}

TEST_F(DirtyFixture, HostPointerWritersMarkWhatTheyWrote) {
  memory_global_dirty_log_start();
  MemoryTranslation t;
  {
    EpochGuard g;
    t = as->translate(0x12010, true);
  }
  ASSERT_NE(t.host, nullptr);
  std::memset(t.host, 1, 0x20);
  EXPECT_FALSE(memory_region_get_dirty(ram2, 0, ram2.size()));  // translate() marks nothing
  ram_mark_dirty_host(t.host, 0x20);
  EXPECT_EQ(take_all(), (std::vector<uint64_t>{0x12000}));
  int not_ram = 0;
  ram_mark_dirty_host(&not_ram, sizeof not_ram);  // not guest RAM: ignored
  EXPECT_TRUE(take_all().empty());
}

TEST_F(DirtyFixture, StartAndStopFollowTheFlags) {
  memory_global_dirty_log_start(kGlobalDirtyMigration);
  memory_global_dirty_log_start(kGlobalDirtyDirtyRate);
  EXPECT_EQ(memory_global_dirty_tracking(), kGlobalDirtyMigration | kGlobalDirtyDirtyRate);
  memory_global_dirty_log_stop(kGlobalDirtyMigration);
  EXPECT_TRUE(memory_global_dirty_log_active());  // the dirty rate still wants it
  ASSERT_EQ(as->write(0x1000, 1, 1), MemTxResult::Ok);
  memory_global_dirty_log_stop(kGlobalDirtyDirtyRate);
  EXPECT_FALSE(memory_global_dirty_log_active());
  ASSERT_EQ(as->write(0x2000, 1, 1), MemTxResult::Ok);  // not logged
  // Bits taken while logging was on stay until read.
  EXPECT_EQ(take_all(), (std::vector<uint64_t>{0x1000}));
}

TEST_F(DirtyFixture, ListenersAreToldOfStartStopAndSync) {
  std::vector<std::string> calls;
  MemoryListener l;
  l.log_global_start = [&] { calls.push_back("start"); };
  l.log_global_stop = [&] { calls.push_back("stop"); };
  l.log_sync = [&](const MemoryRegionSection& s) {
    calls.push_back("sync " + s.mr->name());
    // A listener that tracks writes itself reports them into the bitmap.
    if (s.mr == &ram) ram_mark_dirty_host(static_cast<uint8_t*>(s.host) + 9 * kPage, 1);
  };
  as->add_listener(&l);
  memory_global_dirty_log_sync();  // logging off: no sync
  EXPECT_TRUE(calls.empty());
  memory_global_dirty_log_start(kGlobalDirtyMigration);
  memory_global_dirty_log_start(kGlobalDirtyDirtyRate);  // already on: no second start
  memory_global_dirty_log_sync();
  memory_global_dirty_log_stop(kGlobalDirtyMigration);
  memory_global_dirty_log_stop(kGlobalDirtyDirtyRate);
  as->remove_listener(&l);
  EXPECT_EQ(calls, (std::vector<std::string>{"start", "sync ram", "sync ram2", "sync rom",
                                             "sync ram2", "stop"}));
  EXPECT_EQ(take_all(), (std::vector<uint64_t>{0x9000}));
}

TEST_F(DirtyFixture, ListenerAddedWhileLoggingIsOnIsStarted) {
  memory_global_dirty_log_start();
  int starts = 0;
  MemoryListener l;
  l.log_global_start = [&] { ++starts; };
  as->add_listener(&l);
  EXPECT_EQ(starts, 1);
  as->remove_listener(&l);
}

}  // namespace
}  // namespace machina::test
