// Dirty-page logging through the memory API (system/dirty_log.h) under each accelerator: the
// software CPU marks the pages its stores reach, KVM's dirty log reaches the same bitmap on a sync
// (and when a slot goes away while logging is on). The pages a guest wrote are found dirty once,
// the pages nobody wrote never.
#include <gtest/gtest.h>

#include <algorithm>

#include "accel/kvm/kvm-internal.h"
#include "accel/kvm/x86_accel_runner.h"
#include "guest/x86/accel.h"
#include "guest/x86/mailbox.h"
#include "system/dirty_log.h"
#include "system/memory.h"

namespace machina::test {
namespace {

constexpr uint64_t kPage = kDirtyPageSize;

class X86AccelDirtyLog : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why = X86AccelRunner::unavailable_reason(GetParam());
    if (!why.empty()) GTEST_SKIP() << why;
    runner_ = std::make_unique<X86AccelRunner>(GetParam());
  }
  void TearDown() override {
    memory_global_dirty_log_stop(kGlobalDirtyMigration);
    runner_.reset();
  }
  // The dirty pages of [start, start + len), after a sync (cleared).
  static std::vector<uint64_t> take(uint64_t start, uint64_t len) {
    memory_global_dirty_log_sync();
    return address_space_dirty_pages_and_clear(address_space_memory(), start, len);
  }
  static bool has(const std::vector<uint64_t>& pages, uint64_t gpa) {
    return std::find(pages.begin(), pages.end(), gpa & ~(kPage - 1)) != pages.end();
  }

  std::unique_ptr<X86AccelRunner> runner_;
};

// The mmio guest stores into the first page of the RAM window at A, moves the window to B (under
// KVM a slot change while logging), stores into the same page through B and moves it back.
TEST_P(X86AccelDirtyLog, TheGuestsWritesAreInTheMemoryApiBitmap) {
  memory_global_dirty_log_start(kGlobalDirtyMigration);
  (void)take(0, UINT64_MAX);
  AccelOutcome o = runner_->run("mmio");
  ASSERT_EQ(o.value, uint32_t{GT_PASS}) << o.explanation;
  EXPECT_EQ(runner_->moves(), 2u);

  std::vector<uint64_t> window = take(ACC_WIN_A, ACC_WIN_SIZE);
  EXPECT_EQ(window, (std::vector<uint64_t>{ACC_WIN_A})) << GetParam();
  std::vector<uint64_t> ram = take(0, X86AccelRunner::kRamSize);
  EXPECT_TRUE(has(ram, GT_MAILBOX)) << ram.size() << " dirty pages";
  // Nothing above 32 MiB is touched by the guest (its code, stack and tables are low).
  EXPECT_TRUE(std::none_of(ram.begin(), ram.end(), [](uint64_t p) { return p >= 0x2000000; }));
  EXPECT_FALSE(ram.empty());

  // Read once: the vCPU is stopped, so a second look finds nothing.
  EXPECT_TRUE(take(0, UINT64_MAX).empty());
}

// machina's own writes into guest RAM (device DMA) are marked under either accelerator, in the
// same bitmap the guest's writes reach.
TEST_P(X86AccelDirtyLog, DmaWritesAreMarkedToo) {
  AccelOutcome o = runner_->run("harness", "pass");
  ASSERT_EQ(o.value, uint32_t{GT_PASS}) << o.explanation;
  memory_global_dirty_log_start(kGlobalDirtyMigration);
  (void)take(0, UINT64_MAX);
  uint64_t v = 0x1122334455667788;
  ASSERT_TRUE(dma_write(address_space_memory(), 0x3000008, &v, sizeof v).ok());
  ASSERT_TRUE(dma_write(address_space_memory(), ACC_WIN_A + 3 * kPage, &v, sizeof v).ok());
  EXPECT_EQ(take(0, UINT64_MAX), (std::vector<uint64_t>{0x3000000, ACC_WIN_A + 3 * kPage}));
}

// Under KVM the shortcut kvm_get_dirty_pages() is the same sync and bitmap.
TEST(KvmDirtyLogOverMemoryApi, ShortcutReadsTheSameBitmap) {
  std::string why = X86AccelRunner::unavailable_reason("kvm");
  if (!why.empty()) GTEST_SKIP() << why;
  X86AccelRunner r("kvm");
  ASSERT_TRUE(kvm::kvm_set_dirty_logging(true).ok());
  EXPECT_TRUE(memory_global_dirty_log_active());
  ASSERT_TRUE(kvm::kvm_get_dirty_pages().ok());
  uint64_t v = 1;
  ASSERT_TRUE(dma_write(address_space_memory(), 0x2000000, &v, sizeof v).ok());
  auto pages = kvm::kvm_get_dirty_pages();
  ASSERT_TRUE(pages.ok()) << pages.message();
  EXPECT_EQ(pages.value(), (std::vector<uint64_t>{0x2000000}));
  ASSERT_TRUE(kvm::kvm_set_dirty_logging(false).ok());
  EXPECT_FALSE(memory_global_dirty_log_active());
}

INSTANTIATE_TEST_SUITE_P(Accel, X86AccelDirtyLog, ::testing::Values("tcg", "kvm"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace machina::test
