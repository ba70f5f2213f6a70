// Listeners are told about RAM ranges appearing, disappearing and moving.
#include <gtest/gtest.h>

#include "memory_test_util.h"

namespace machina::test {
namespace {

struct Recorder {
  std::vector<std::string> events;
  MemoryListener listener;
  Recorder() {
    listener.region_add = [this](const MemoryRegionSection& s) { record("add", s); };
    listener.region_del = [this](const MemoryRegionSection& s) { record("del", s); };
  }
  void record(const char* what, const MemoryRegionSection& s) {
    char b[200];
    std::snprintf(b, sizeof b, "%s %s gpa=%" PRIx64 " size=%" PRIx64 " off=%" PRIx64 "%s%s", what,
                  s.mr->name().c_str(), s.offset_within_address_space, s.size,
                  s.offset_within_region, s.readonly ? " ro" : "",
                  s.host == s.mr->host_ptr() + s.offset_within_region ? "" : " BADHOST");
    events.push_back(b);
  }
  std::string take() {
    std::string s;
    for (const auto& e : events) s += (s.empty() ? "" : "; ") + e;
    events.clear();
    return s;
  }
};

struct ListenerFixture : ::testing::Test {
  MemoryRegion root, ram, rom, io;
  std::unique_ptr<AddressSpace> as;
  Recorder rec;
  void SetUp() override {
    root.init_container(nullptr, "root", UINT64_MAX);
    ASSERT_TRUE(ram.init_ram(nullptr, "ram", 0x10000).ok());
    ASSERT_TRUE(rom.init_rom(nullptr, "rom", 0x1000).ok());
    io.init_io(nullptr, "io", {}, 0x1000);
    as = std::make_unique<AddressSpace>(&root, "t");
  }
  void TearDown() override {
    as->remove_listener(&rec.listener);
    as.reset();
  }
};

TEST_F(ListenerFixture, AddRemoveRam) {
  as->add_listener(&rec.listener);
  EXPECT_EQ(rec.take(), "");
  ASSERT_TRUE(root.add_subregion(0x100000, &ram).ok());
  EXPECT_EQ(rec.take(), "add ram gpa=100000 size=10000 off=0");
  ASSERT_TRUE(root.add_subregion(0xf0000, &rom).ok());
  EXPECT_EQ(rec.take(), "add rom gpa=f0000 size=1000 off=0 ro");
  ASSERT_TRUE(root.add_subregion(0x200000, &io).ok());
  EXPECT_EQ(rec.take(), "");  // I/O is not reported
  ASSERT_TRUE(root.del_subregion(&ram).ok());
  EXPECT_EQ(rec.take(), "del ram gpa=100000 size=10000 off=0");
}

TEST_F(ListenerFixture, ReplayOnRegistrationAndRemoval) {
  ASSERT_TRUE(root.add_subregion(0, &ram).ok());
  ASSERT_TRUE(root.add_subregion(0xf0000, &rom).ok());
  as->add_listener(&rec.listener);
  EXPECT_EQ(rec.take(), "add ram gpa=0 size=10000 off=0; add rom gpa=f0000 size=1000 off=0 ro");
  as->remove_listener(&rec.listener);
  EXPECT_EQ(rec.take(), "del ram gpa=0 size=10000 off=0; del rom gpa=f0000 size=1000 off=0 ro");
}

TEST_F(ListenerFixture, MoveIsDelThenAdd) {
  ASSERT_TRUE(root.add_subregion(0x100000, &ram).ok());
  as->add_listener(&rec.listener);
  rec.take();
  ram.set_address(0x200000);
  EXPECT_EQ(rec.take(), "del ram gpa=100000 size=10000 off=0; add ram gpa=200000 size=10000 off=0");
  ram.set_enabled(false);
  EXPECT_EQ(rec.take(), "del ram gpa=200000 size=10000 off=0");
  ram.set_enabled(true);
  EXPECT_EQ(rec.take(), "add ram gpa=200000 size=10000 off=0");
}

TEST_F(ListenerFixture, OverlayingIoSplitsRamSection) {
  ASSERT_TRUE(root.add_subregion(0, &ram).ok());
  as->add_listener(&rec.listener);
  rec.take();
  ASSERT_TRUE(root.add_subregion(0x4000, &io, 1).ok());
  EXPECT_EQ(rec.take(),
            "del ram gpa=0 size=10000 off=0; add ram gpa=0 size=4000 off=0; "
            "add ram gpa=5000 size=b000 off=5000");
  // Unchanged ranges are not reported again.
  MemoryRegion io2;
  io2.init_io(nullptr, "io2", {}, 0x100);
  ASSERT_TRUE(root.add_subregion(0x900000, &io2).ok());
  EXPECT_EQ(rec.take(), "");
  ASSERT_TRUE(root.del_subregion(&io2).ok());
}

TEST_F(ListenerFixture, TransactionBatchesNotifications) {
  as->add_listener(&rec.listener);
  int commits = 0;
  rec.listener.commit = [&] { ++commits; };
  {
    MemoryTransaction t;
    ASSERT_TRUE(root.add_subregion(0, &ram).ok());
    ram.set_address(0x10000);
    EXPECT_EQ(rec.take(), "");
  }
  EXPECT_EQ(rec.take(), "add ram gpa=10000 size=10000 off=0");
  EXPECT_EQ(commits, 1);
  rec.listener.commit = nullptr;
}

TEST_F(ListenerFixture, PriorityOrder) {
  std::vector<std::string> order;
  MemoryListener hi, lo;
  hi.priority = 10;
  hi.region_add = [&](const MemoryRegionSection&) { order.push_back("hi+"); };
  hi.region_del = [&](const MemoryRegionSection&) { order.push_back("hi-"); };
  lo.region_add = [&](const MemoryRegionSection&) { order.push_back("lo+"); };
  lo.region_del = [&](const MemoryRegionSection&) { order.push_back("lo-"); };
  as->add_listener(&hi);
  as->add_listener(&lo);
  ASSERT_TRUE(root.add_subregion(0, &ram).ok());
  ASSERT_TRUE(root.del_subregion(&ram).ok());
  EXPECT_EQ(order, (std::vector<std::string>{"lo+", "hi+", "hi-", "lo-"}));
  as->remove_listener(&hi);
  as->remove_listener(&lo);
}

}  // namespace
}  // namespace machina::test
