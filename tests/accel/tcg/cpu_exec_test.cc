// The execution loop on small loops in 64-bit mode with paging: a block that jumps back to its
// own start goes round in its handlers (interp-fast.h) and every instruction is still counted;
// a store into the loop's own code inside such a round is seen by the next round.
#include <gtest/gtest.h>

#include <vector>

#include "accel/tcg/tcg-cpu-exec.h"
#include "hw/i386/x86-direct-boot.h"
#include "system/memory.h"
#include "target/i386/x86-cpu.h"

namespace machina::tcg {
namespace {

constexpr uint64_t kCode = 0x200000, kStack = 0x300000, kData = 0x400000;

class CpuExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ram_.init_ram(nullptr, "test-ram", 16 << 20).ok());
    ASSERT_TRUE(get_system_memory()->add_subregion(0, &ram_).ok());
    ASSERT_TRUE(x86_write_long_mode_structures(&boot_).ok());
  }
  void TearDown() override {
    if (cpu_) cpu_->unref();
    (void)get_system_memory()->del_subregion(&ram_);
  }
  // Runs `code` at kCode until HLT; the CPU's state after.
  x86::CpuState& run(const std::vector<uint8_t>& code, uint64_t rcx, uint64_t* instructions) {
    EXPECT_TRUE(dma_write(address_space_memory(), kCode, code.data(), code.size()).ok());
    cpu_ = new x86::X86Cpu(x86::x86_default_cpu_model());
    cpu_->enter_long_mode(boot_.cr3, boot_.gdt_base, boot_.gdt_limit, kCode, 0);
    x86::CpuState& s = cpu_->state();
    s.regs[x86::RCX] = rcx;
    s.regs[x86::RSP] = kStack;
    s.regs[x86::RBX] = kData;
    CpuExec exec(*cpu_);
    ExitReason r;
    do {
      r = exec.run(1000);  // small slices: rounds cross slice ends too
    } while (r == ExitReason::Budget);
    EXPECT_EQ(r, ExitReason::Halted);
    *instructions = exec.instructions();
    return s;
  }

  MemoryRegion ram_;
  DirectBootState boot_;
  x86::X86Cpu* cpu_ = nullptr;
};

TEST_F(CpuExecTest, ASelfLoopCountsEveryInstruction) {
  uint64_t n;
  x86::CpuState& s = run({0x01, 0xc8,  // lp: add eax, ecx
                          0x31, 0xc2,  // xor edx, eax
                          0xff, 0xc9,  // dec ecx
                          0x75, 0xf8,  // jnz lp
                          0xf4},       // hlt
                         100000, &n);
  EXPECT_EQ(n, 4 * 100000u + 1);
  uint32_t eax = 0, edx = 0;
  for (uint32_t c = 100000; c != 0; c--) {
    eax += c;
    edx ^= eax;
  }
  EXPECT_EQ(s.regs[x86::RAX], eax);
  EXPECT_EQ(s.regs[x86::RDX], edx);
  EXPECT_EQ(s.rip, kCode + 9);
}

TEST_F(CpuExecTest, AStoreIntoTheLoopsOwnCodeIsSeenByTheNextRound) {
  uint64_t n;
  x86::CpuState& s = run({0xb8, 0x00, 0x00, 0x00, 0x00,        // lp: mov eax, imm (patched)
                          0x01, 0xc2,                          // add edx, eax
                          0xff, 0x05, 0xf4, 0xff, 0xff, 0xff,  // inc dword [rip-12]: the imm
                          0xff, 0xc9,                          // dec ecx
                          0x75, 0xef,                          // jnz lp
                          0xf4},                               // hlt
                         1000, &n);
  EXPECT_EQ(n, 5 * 1000u + 1);
  EXPECT_EQ(s.regs[x86::RDX], 999u * 1000 / 2);  // 0 + 1 + ... + 999
  EXPECT_EQ(s.regs[x86::RAX], 999u);
}

}  // namespace
}  // namespace machina::tcg
