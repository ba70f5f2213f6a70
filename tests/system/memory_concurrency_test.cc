// Unplug safety: a region removed (and its owner dropped) while another thread is inside its
// callback stays alive until that access ends. Meaningful under ASan/TSan: the callback reads the
// owner's memory after the removal.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "memory_test_util.h"

namespace machina::test {
namespace {

using namespace std::chrono_literals;

TEST(MemoryConcurrency, OwnerOutlivesAccessInFlight) {
  MemoryRegion root;
  root.init_container(nullptr, "root", 0x100000);
  AddressSpace as(&root, "t");

  std::atomic<bool> finalized{false}, in_callback{false}, release{false};
  std::atomic<bool> finalized_during_access{false};
  auto owner = new_owner(&finalized);
  MemOwner* dev = owner.get();
  MemoryRegionOps ops;
  ops.read = [&, dev](uint64_t, unsigned) -> uint64_t {
    in_callback = true;
    while (!release) std::this_thread::yield();
    if (finalized) finalized_during_access = true;
    return dev->reg;  // use-after-free here if the owner went away
  };
  dev->mr.init_io(dev, "dev-mmio", std::move(ops), 0x100);
  ASSERT_TRUE(root.add_subregion(0x1000, &dev->mr).ok());

  uint64_t seen = 0;
  MemTxResult res = MemTxResult::Error;
  std::thread vcpu([&] { res = as.read(0x1000, 4, &seen); });
  while (!in_callback) std::this_thread::yield();

  // Unplug: unmap and drop the last outside reference while the access is in flight.
  ASSERT_TRUE(root.del_subregion(&dev->mr).ok());
  owner.reset();
  epoch_reclaim();
  std::this_thread::sleep_for(5ms);  // give the background reclaimer its chance too
  EXPECT_FALSE(finalized.load());
  EXPECT_GE(epoch_pending(), 1u);
  EXPECT_EQ(ranges_of(as), "");  // new accesses no longer reach it

  release = true;
  vcpu.join();
  EXPECT_EQ(res, MemTxResult::Ok);
  EXPECT_EQ(seen, 0x11223344u);
  EXPECT_FALSE(finalized_during_access.load());
  ASSERT_TRUE(epoch_drain().ok());
  EXPECT_TRUE(finalized.load());
}

TEST(MemoryConcurrency, HammerDispatchWhileUnplugging) {
  constexpr int kRounds = 60;
  MemoryRegion root;
  root.init_container(nullptr, "root", 0x100000);
  AddressSpace as(&root, "t");

  auto finalized = std::make_unique<std::atomic<bool>[]>(kRounds);
  std::atomic<int> round_hits{0};
  std::atomic<bool> stop{false}, violation{false};
  std::atomic<uint64_t> accesses{0};

  std::thread vcpu([&] {
    while (!stop) {
      uint64_t v = 0;
      MemTxResult r = as.read(0x1000, 4, &v);
      // Either the device answered or the address was unassigned at that moment.
      if (!((r == MemTxResult::Ok && v == 0x11223344) ||
            (r == MemTxResult::DecodeError && v == 0xffffffff))) {
        violation = true;
      }
      accesses++;
    }
  });

  for (int i = 0; i < kRounds; ++i) {
    auto owner = new_owner(&finalized[i]);
    MemOwner* dev = owner.get();
    std::atomic<bool>* flag = &finalized[i];
    MemoryRegionOps ops;
    ops.read = [&, dev, flag](uint64_t, unsigned) -> uint64_t {
      if (flag->load()) violation = true;
      uint64_t v = 0;
      for (int k = 0; k < 200; ++k) v = *static_cast<volatile uint64_t*>(&dev->reg);
      if (flag->load()) violation = true;
      round_hits++;
      return v;
    };
    dev->mr.init_io(dev, "dev-mmio", std::move(ops), 0x100);
    round_hits = 0;
    ASSERT_TRUE(root.add_subregion(0x1000, &dev->mr).ok());
    auto deadline = std::chrono::steady_clock::now() + 2s;
    while (round_hits < 3 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    ASSERT_TRUE(root.del_subregion(&dev->mr).ok());
    owner.reset();  // possibly the last reference outside the old view
  }
  stop = true;
  vcpu.join();
  ASSERT_TRUE(epoch_drain().ok());
  EXPECT_FALSE(violation.load());
  for (int i = 0; i < kRounds; ++i) EXPECT_TRUE(finalized[i].load()) << i;
  EXPECT_GT(accesses.load(), uint64_t{kRounds});
}

TEST(MemoryConcurrency, ManyReadersRamAndIo) {
  // Several readers on RAM and I/O while the map changes under them.
  MemoryRegion root, ram, io;
  root.init_container(nullptr, "root", 0x100000);
  ASSERT_TRUE(ram.init_ram(nullptr, "ram", 0x1000).ok());
  ram.host_ptr()[0] = 0x42;
  MemoryRegionOps ops;
  ops.read = [](uint64_t, unsigned) -> uint64_t { return 7; };
  io.init_io(nullptr, "io", std::move(ops), 0x1000);
  ASSERT_TRUE(root.add_subregion(0, &ram).ok());
  AddressSpace as(&root, "t");
  std::atomic<bool> stop{false}, bad{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        uint64_t v = 0;
        MemTxResult r = as.read(0, 1, &v);
        if (!(r == MemTxResult::Ok && (v == 0x42 || v == 7))) bad = true;
      }
    });
  }
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(root.add_subregion(0, &io, 1).ok());
    ASSERT_TRUE(root.del_subregion(&io).ok());
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_FALSE(bad.load());
}

TEST(MemoryConcurrency, CallbackMayChangeTheMap) {
  // A register write that moves a BAR: a commit from inside an access (a read section) must not
  // wait for itself; the old view is freed once the access has ended.
  MemoryRegion root, ctrl, bar;
  root.init_container(nullptr, "root", 0x100000);
  bar.init_io(nullptr, "bar", {}, 0x100);
  ASSERT_TRUE(root.add_subregion(0x8000, &bar).ok());
  MemoryRegionOps ops;
  ops.write = [&](uint64_t, uint64_t data, unsigned) { bar.set_address(data); };
  ctrl.init_io(nullptr, "ctrl", std::move(ops), 4);
  ASSERT_TRUE(root.add_subregion(0x1000, &ctrl).ok());
  AddressSpace as(&root, "t");
  EXPECT_EQ(as.write(0x1000, 4, 0x9000), MemTxResult::Ok);
  EXPECT_EQ(ranges_of(as), "1000-1003 ctrl@0; 9000-90ff bar@0");
  ASSERT_TRUE(epoch_drain().ok());
  EXPECT_EQ(epoch_pending(), 0u);
}

TEST(MemoryConcurrency, DrainInsideReadSectionIsAnError) {
  EpochGuard g;
  Status s = epoch_drain();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "cannot wait for memory readers from inside a read section");
}

TEST(MemoryConcurrency, RegionDestroyedInsideOuterTransaction) {
  MemoryRegion root;
  root.init_container(nullptr, "root", 0x100000);
  AddressSpace as(&root, "t");
  auto tmp = std::make_unique<MemoryRegion>();
  tmp->init_io(nullptr, "tmp", {}, 0x10);
  ASSERT_TRUE(root.add_subregion(0, tmp.get()).ok());
  {
    MemoryTransaction t;
    tmp.reset();  // must unmap now rather than wait for a commit that cannot come
  }
  EXPECT_EQ(ranges_of(as), "");
}

}  // namespace
}  // namespace machina::test
