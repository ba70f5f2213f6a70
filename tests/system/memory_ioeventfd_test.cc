// ioeventfds of the memory API: a matching write signals the eventfd instead of reaching the
// region; listeners are told where they are in the address space as regions move, go and come.
#include <gtest/gtest.h>

#include "memory_test_util.h"
#include "util/event_notifier.h"

namespace machina::test {
namespace {

struct IoeventfdFixture : ::testing::Test {
  MemoryRegion root, io;
  std::unique_ptr<AddressSpace> as;
  std::vector<std::string> events;
  MemoryListener listener;
  std::shared_ptr<EventNotifier> e;
  unsigned writes = 0;

  void SetUp() override {
    root.init_container(nullptr, "root", UINT64_MAX);
    MemoryRegionOps ops;
    ops.read = [](uint64_t, unsigned) -> uint64_t { return 0; };
    ops.write = [this](uint64_t, uint64_t, unsigned) { writes++; };
    io.init_io(nullptr, "io", ops, 0x1000);
    as = std::make_unique<AddressSpace>(&root, "t");
    listener.eventfd_add = [this](const FlatIoeventfd& f) { record("add", f); };
    listener.eventfd_del = [this](const FlatIoeventfd& f) { record("del", f); };
    auto n = EventNotifier::create();
    ASSERT_TRUE(n.ok());
    e = n.value();
  }
  void TearDown() override {
    as->remove_listener(&listener);
    MemoryTransaction t;
    if (io.container()) (void)root.del_subregion(&io);
  }
  void record(const char* what, const FlatIoeventfd& f) {
    char b[120];
    std::snprintf(b, sizeof b, "%s %" PRIx64 "/%u%s", what, f.addr, f.size,
                  f.match_data ? (" =" + std::to_string(f.data)).c_str() : "");
    events.push_back(b);
  }
  std::string take() {
    std::string s;
    for (const auto& x : events) s += (s.empty() ? "" : "; ") + x;
    events.clear();
    return s;
  }
};

TEST_F(IoeventfdFixture, MatchingWritesSignalTheNotifierInsteadOfTheRegion) {
  ASSERT_TRUE(root.add_subregion(0x10000, &io).ok());
  io.add_eventfd(0x10, 2, true, 3, e);
  (void)as->write(0x10010, 2, 3);
  EXPECT_TRUE(e->test_and_clear());
  EXPECT_EQ(writes, 0u);
  (void)as->write(0x10010, 2, 4);  // other data
  (void)as->write(0x10010, 4, 3);  // other size
  (void)as->write(0x10012, 2, 3);  // other address
  EXPECT_FALSE(e->test_and_clear());
  EXPECT_EQ(writes, 3u);
  uint16_t v = 3;
  (void)as->write_buf(0x10010, &v, 2);  // buffer accesses too
  EXPECT_TRUE(e->test_and_clear());
  EXPECT_EQ(writes, 3u);
  io.del_eventfd(0x10, 2, true, 3, e.get());
  (void)as->write(0x10010, 2, 3);
  EXPECT_FALSE(e->test_and_clear());
  EXPECT_EQ(writes, 4u);
}

TEST_F(IoeventfdFixture, AnySizeWithoutData) {
  ASSERT_TRUE(root.add_subregion(0x10000, &io).ok());
  io.add_eventfd(0x20, 0, false, 0, e);
  for (unsigned size : {1u, 2u, 4u, 8u}) {
    (void)as->write(0x10020, size, 0x1234);
    EXPECT_TRUE(e->test_and_clear()) << size;
  }
  EXPECT_EQ(writes, 0u);
}

TEST_F(IoeventfdFixture, ListenersFollowTheRegion) {
  io.add_eventfd(0x10, 2, true, 1, e);
  as->add_listener(&listener);
  EXPECT_EQ(take(), "");  // not mapped
  ASSERT_TRUE(root.add_subregion(0x10000, &io).ok());
  EXPECT_EQ(take(), "add 10010/2 =1");
  io.set_address(0x20000);
  EXPECT_EQ(take(), "del 10010/2 =1; add 20010/2 =1");
  io.set_enabled(false);
  EXPECT_EQ(take(), "del 20010/2 =1");
  io.set_enabled(true);
  EXPECT_EQ(take(), "add 20010/2 =1");
  io.add_eventfd(0x10, 2, true, 1, e);  // the same again: nothing new
  EXPECT_EQ(take(), "");
  io.add_eventfd(0x40, 0, false, 0, e);
  EXPECT_EQ(take(), "add 20040/0");
  io.del_eventfd(0x10, 2, true, 1, e.get());
  EXPECT_EQ(take(), "del 20010/2 =1");
  as->remove_listener(&listener);
  EXPECT_EQ(take(), "del 20040/0");
}

TEST_F(IoeventfdFixture, OnlyTheMappedPartOfAnAliasCounts) {
  MemoryRegion alias;
  alias.init_alias(nullptr, "alias", &io, 0x100, 0x100);
  io.add_eventfd(0x10, 2, false, 0, e);   // outside the alias's window
  io.add_eventfd(0x110, 2, false, 0, e);  // inside: at alias offset 0x10
  as->add_listener(&listener);
  ASSERT_TRUE(root.add_subregion(0x50000, &alias).ok());
  EXPECT_EQ(take(), "add 50010/2");
  (void)as->write(0x50010, 2, 0);
  EXPECT_TRUE(e->test_and_clear());
  MemoryTransaction t;
  (void)root.del_subregion(&alias);
}

// A notifier that leaves the memory map is released once no view holds it.
TEST_F(IoeventfdFixture, TheNotifierIsReleasedWithTheLastView) {
  uint64_t before = EventNotifier::live_count();
  ASSERT_TRUE(root.add_subregion(0x10000, &io).ok());
  io.add_eventfd(0x10, 2, false, 0, e);
  std::weak_ptr<EventNotifier> w = e;
  io.del_eventfd(0x10, 2, false, 0, e.get());
  e.reset();
  (void)epoch_drain();
  EXPECT_TRUE(w.expired());
  EXPECT_EQ(EventNotifier::live_count(), before - 1);
}

}  // namespace
}  // namespace machina::test
