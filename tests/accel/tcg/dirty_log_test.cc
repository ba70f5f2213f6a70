// Dirty-page logging and the software CPU: a guest store marks exactly the page it wrote, also
// when its TLB entry allowed fast stores before; once the bit is cleared, the next store into the
// same page (whose TLB entry had become fast again) is seen again.
#include <gtest/gtest.h>

#include <vector>

#include "accel/tcg/tcg-cpu-exec.h"
#include "hw/i386/x86-direct-boot.h"
#include "system/dirty_log.h"
#include "system/memory.h"
#include "target/i386/x86-cpu.h"

namespace machina::tcg {
namespace {

constexpr uint64_t kCode = 0x200000, kStack = 0x300000, kData = 0x400000;
constexpr uint64_t kDataLen = 64 * kDirtyPageSize;

class TcgDirtyLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ram_.init_ram(nullptr, "test-ram", 16 << 20).ok());
    ASSERT_TRUE(get_system_memory()->add_subregion(0, &ram_).ok());
    ASSERT_TRUE(x86_write_long_mode_structures(&boot_).ok());
    cpu_ = new x86::X86Cpu(x86::x86_default_cpu_model());
    cpu_->enter_long_mode(boot_.cr3, boot_.gdt_base, boot_.gdt_limit, kCode, 0);
    exec_ = std::make_unique<CpuExec>(*cpu_);
  }
  void TearDown() override {
    memory_global_dirty_log_stop();
    exec_.reset();
    if (cpu_) cpu_->unref();
    (void)get_system_memory()->del_subregion(&ram_);
  }
  // Runs `code` at kCode with RBX = kData until HLT (the same CPU each time: its TLB stays).
  void run(const std::vector<uint8_t>& code) {
    ASSERT_TRUE(dma_write(address_space_memory(), kCode, code.data(), code.size()).ok());
    x86::CpuState& s = cpu_->state();
    s.rip = kCode;
    s.halted = false;
    s.regs[x86::RSP] = kStack;
    s.regs[x86::RBX] = kData;
    s.regs[x86::RAX] = 0x12345678;
    ExitReason r;
    do {
      r = exec_->run(1000);
    } while (r == ExitReason::Budget);
    ASSERT_EQ(r, ExitReason::Halted);
  }
  // The dirty pages of the data area, as offsets from kData (cleared).
  std::vector<uint64_t> dirty_data() {
    std::vector<uint64_t> out;
    for (uint64_t p : address_space_dirty_pages_and_clear(address_space_memory(), kData, kDataLen))
      out.push_back(p - kData);
    return out;
  }

  MemoryRegion ram_;
  DirectBootState boot_;
  x86::X86Cpu* cpu_ = nullptr;
  std::unique_ptr<CpuExec> exec_;
};

// mov [rbx+0x3010], eax; hlt
const std::vector<uint8_t> kStoreOne = {0x89, 0x83, 0x10, 0x30, 0x00, 0x00, 0xf4};

TEST_F(TcgDirtyLogTest, AStoreMarksExactlyItsPage) {
  memory_global_dirty_log_start();
  (void)dirty_data();  // the code written above
  run(kStoreOne);
  EXPECT_EQ(dirty_data(), (std::vector<uint64_t>{0x3000}));
  EXPECT_EQ(cpu_->state().regs[x86::RAX], 0x12345678u);
  uint32_t v = 0;
  ASSERT_TRUE(dma_read(address_space_memory(), kData + 0x3010, &v, 4).ok());
  EXPECT_EQ(v, 0x12345678u);
}

TEST_F(TcgDirtyLogTest, AfterClearingTheNextStoreToThePageIsSeenAgain) {
  memory_global_dirty_log_start();
  run(kStoreOne);  // marks the page and lets later stores into it take the fast path
  EXPECT_EQ(dirty_data(), (std::vector<uint64_t>{0x3000}));
  run(kStoreOne);  // the TLB entry is still there: only clearing made it slow again
  EXPECT_EQ(dirty_data(), (std::vector<uint64_t>{0x3000}));
  run({0xf4});  // no store
  EXPECT_TRUE(dirty_data().empty());
}

TEST_F(TcgDirtyLogTest, FastStoresAllowedBeforeLoggingStartedAreSeen) {
  run(kStoreOne);  // logging off: the TLB entry allows fast stores
  memory_global_dirty_log_start();
  run(kStoreOne);
  EXPECT_EQ(dirty_data(), (std::vector<uint64_t>{0x3000}));
}

TEST_F(TcgDirtyLogTest, ALoopMarksEveryPageItStoresTo) {
  memory_global_dirty_log_start();
  // Stores to pages 1, 3, 5 ... 19 of the data area, then 8 bytes across the end of page 19
  // into page 20.
  const std::vector<uint8_t> code = {
      0xb9, 0x0a, 0x00, 0x00, 0x00,              // mov ecx, 10
      0x48, 0x81, 0xc3, 0x00, 0x10, 0x00, 0x00,  // lp: add rbx, 0x1000
      0x89, 0x03,                                // mov [rbx], eax
      0x48, 0x81, 0xc3, 0x00, 0x10, 0x00, 0x00,  // add rbx, 0x1000
      0xff, 0xc9,                                // dec ecx
      0x75, 0xec,                                // jnz lp
      0x48, 0x89, 0x43, 0xfc,                    // mov [rbx-4], rax
      0xf4};                                     // hlt
  run(code);
  std::vector<uint64_t> want;
  for (uint64_t p = 1; p < 20; p += 2) want.push_back(p * kDirtyPageSize);
  want.push_back(20 * kDirtyPageSize);
  EXPECT_EQ(dirty_data(), want);
  // The same again: every page once more, though their TLB entries were fast.
  run(code);
  EXPECT_EQ(dirty_data(), want);
}

TEST_F(TcgDirtyLogTest, NothingIsMarkedWithLoggingOff) {
  run(kStoreOne);
  memory_global_dirty_log_start();
  EXPECT_TRUE(dirty_data().empty());
}

}  // namespace
}  // namespace machina::tcg
