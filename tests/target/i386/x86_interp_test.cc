// Interpreter and decoder unit tests: control flow, stack, exceptions, addressing, prefixes.
#include <gtest/gtest.h>

#include <vector>

#include "target/i386/decode.h"
#include "target/i386/interp.h"

namespace machina::x86 {
namespace {

class InterpTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kCode = 0x1000;
  static constexpr uint64_t kStack = 0x8000;

  InterpTest() : ram_(0x10000, 0), mem_(ram_.data(), ram_.size(), 0) {
    enter_64bit_mode(st_);
    st_.rip = kCode;
    st_.regs[RSP] = kStack;
  }
  void load(const std::vector<uint8_t>& code) {
    std::copy(code.begin(), code.end(), ram_.begin() + kCode);
  }
  StepResult run(int max_steps = 1000) {
    for (int i = 0; i < max_steps; i++) {
      StepResult r = step(st_, mem_);
      if (r != StepResult::Ok) return r;
    }
    return StepResult::Ok;
  }

  std::vector<uint8_t> ram_;
  FlatMemory mem_;
  CpuState st_;
};

TEST_F(InterpTest, CallLoopPushPopAndHalt) {
  load({0xb9, 0x0a, 0x00, 0x00, 0x00,  // mov ecx, 10
        0x31, 0xc0,                    // xor eax, eax
        0xe8, 0x07, 0x00, 0x00, 0x00,  // loop: call add_rcx
        0xff, 0xc9,                    // dec ecx
        0x75, 0xf7,                    // jnz loop
        0x50,                          // push rax
        0x5b,                          // pop rbx
        0xf4,                          // hlt
        0x48, 0x01, 0xc8,              // add_rcx: add rax, rcx
        0xc3});                        // ret
  EXPECT_EQ(run(), StepResult::Halt);
  EXPECT_EQ(st_.regs[RAX], 55u);
  EXPECT_EQ(st_.regs[RBX], 55u);
  EXPECT_EQ(st_.regs[RSP], kStack);
  EXPECT_EQ(st_.rip, kCode + 19);
}

TEST_F(InterpTest, NearBranchesRel32AndIndirect) {
  load({0x31, 0xc0,                                // xor eax, eax (ZF=1)
        0x0f, 0x84, 0x02, 0x00, 0x00, 0x00,        // jz +2
        0xf4, 0xf4,                                // (skipped)
        0x48, 0x8d, 0x0d, 0x03, 0x00, 0x00, 0x00,  // lea rcx, [rip+3]
        0xff, 0xe1,                                // jmp rcx
        0xf4,                                      // (skipped)
        0xb0, 0x2a,                                // mov al, 42
        0xf4});
  EXPECT_EQ(run(), StepResult::Halt);
  EXPECT_EQ(st_.regs[RAX], 42u);
  EXPECT_EQ(st_.rip, kCode + 23);
}

TEST_F(InterpTest, RetImmPopsExtraBytes) {
  load({0xe8, 0x01, 0x00, 0x00, 0x00,  // call f
        0xf4,                          // hlt
        0xc2, 0x10, 0x00});            // f: ret 16
  EXPECT_EQ(run(), StepResult::Halt);
  EXPECT_EQ(st_.regs[RSP], kStack + 16);
}

TEST_F(InterpTest, UndefinedOpcodesRaiseUd) {
  load({0x0f, 0x0b});  // ud2
  EXPECT_EQ(step(st_, mem_), StepResult::InvalidOp);
  EXPECT_EQ(st_.rip, kCode);
  load({0x06});  // push es: invalid in 64-bit mode
  EXPECT_EQ(step(st_, mem_), StepResult::InvalidOp);
  load({0xf0, 0x01, 0xc0});  // lock add eax, eax: LOCK needs a memory operand
  EXPECT_EQ(step(st_, mem_), StepResult::InvalidOp);
  load({0x8d, 0xc0});  // lea with a register operand
  EXPECT_EQ(step(st_, mem_), StepResult::InvalidOp);
}

TEST_F(InterpTest, DivideErrorsLeaveStateUntouched) {
  load({0xf7, 0xf1});  // div ecx
  st_.regs[RAX] = 5;
  st_.regs[RCX] = 0;
  EXPECT_EQ(step(st_, mem_), StepResult::DivideError);
  EXPECT_EQ(st_.rip, kCode);
  EXPECT_EQ(st_.regs[RAX], 5u);
  load({0x48, 0xf7, 0xf9});  // idiv rcx: INT64_MIN / -1 overflows
  st_.regs[RAX] = 0x8000000000000000ull;
  st_.regs[RDX] = ~0ull;
  st_.regs[RCX] = ~0ull;
  EXPECT_EQ(step(st_, mem_), StepResult::DivideError);
  EXPECT_EQ(st_.regs[RAX], 0x8000000000000000ull);
}

TEST_F(InterpTest, MemoryFaultOutsideRam) {
  load({0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0xff, 0x7f});  // mov rax, [0x7fff0000]
  EXPECT_EQ(step(st_, mem_), StepResult::MemoryFault);
  EXPECT_EQ(st_.rip, kCode);
  ram_[0xfffe] = 0x48;  // mov rax, imm64 running off the end of RAM
  ram_[0xffff] = 0xb8;
  st_.rip = 0xfffe;
  EXPECT_EQ(step(st_, mem_), StepResult::MemoryFault);
}

TEST_F(InterpTest, FsAndGsOverridesAddSegmentBase) {
  load({0x64, 0x48, 0x8b, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00,    // mov rax, fs:[0x10]
        0x65, 0x48, 0x8d, 0x0c, 0x25, 0x10, 0x00, 0x00, 0x00});  // lea rcx, gs:[0x10]
  st_.fs_base = 0x2000;
  st_.gs_base = 0x3000;
  uint64_t v = 0x1122334455667788ull;
  std::memcpy(&ram_[0x2010], &v, 8);
  ASSERT_EQ(step(st_, mem_), StepResult::Ok);
  EXPECT_EQ(st_.regs[RAX], v);
  ASSERT_EQ(step(st_, mem_), StepResult::Ok);
  EXPECT_EQ(st_.regs[RCX], 0x10u);  // LEA ignores the segment base
}

TEST_F(InterpTest, PushPopMemoryAndSixteenBit) {
  load({0xff, 0x34, 0x25, 0x00, 0x30, 0x00, 0x00,  // push qword [0x3000]
        0x8f, 0x04, 0x25, 0x08, 0x30, 0x00, 0x00,  // pop qword [0x3008]
        0x66, 0x50,                                // push ax
        0x66, 0x5b});                              // pop bx
  uint64_t v = 0xdeadbeefcafef00dull;
  std::memcpy(&ram_[0x3000], &v, 8);
  st_.regs[RAX] = 0x1234;
  st_.regs[RBX] = 0xffffffffffffffffull;
  ASSERT_EQ(run(4), StepResult::Ok);
  uint64_t got;
  std::memcpy(&got, &ram_[0x3008], 8);
  EXPECT_EQ(got, v);
  EXPECT_EQ(st_.regs[RBX], 0xffffffffffff1234ull);
  EXPECT_EQ(st_.regs[RSP], kStack);
}

TEST_F(InterpTest, LeaveRestoresFrame) {
  load({0x55,              // push rbp
        0x48, 0x89, 0xe5,  // mov rbp, rsp
        0x6a, 0x07,        // push 7
        0xc9});            // leave
  st_.regs[RBP] = 0xabcdef;
  ASSERT_EQ(run(4), StepResult::Ok);
  EXPECT_EQ(st_.regs[RBP], 0xabcdefu);
  EXPECT_EQ(st_.regs[RSP], kStack);
}

TEST(X86Flags, RflagsRoundTripAndLazyEvaluation) {
  CpuState st;
  st.set_rflags(0x2 | kCF | kZF | kOF | kDF);
  EXPECT_EQ(st.rflags(), 0x2 | kCF | kZF | kOF | kDF);
  st.cc = LazyFlags{CcOp::Add, 1, 0xff, 0x01, 0x00, 0};
  EXPECT_EQ(st.arith_flags(), kCF | kZF | kPF | kAF);
  st.cc = LazyFlags{CcOp::Sub, 4, 0x80000000, 1, 0x7fffffff, 0};
  EXPECT_EQ(st.arith_flags(), kOF | kPF | kAF);
  st.cc = LazyFlags{CcOp::Inc, 8, 0x7fffffffffffffff, 1, 0x8000000000000000, kCF};
  EXPECT_EQ(st.arith_flags(), kOF | kSF | kCF | kPF | kAF);
}

TEST(X86Decode, LengthsImmediatesAndAddressing) {
  DecodedInsn d;
  const uint8_t mov_imm64[] = {0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_EQ(decode(mov_imm64, sizeof mov_imm64, &d), DecodeStatus::Ok);
  EXPECT_EQ(d.len, 10);
  EXPECT_EQ(d.imm, 0x0807060504030201ull);
  EXPECT_EQ(d.opsize, 8);

  const uint8_t add_ax[] = {0x66, 0x05, 0x34, 0x82};
  ASSERT_EQ(decode(add_ax, sizeof add_ax, &d), DecodeStatus::Ok);
  EXPECT_EQ(d.len, 4);
  EXPECT_EQ(d.opsize, 2);
  EXPECT_EQ(d.imm, 0xffffffffffff8234ull);

  const uint8_t add_imm32[] = {0x48, 0x81, 0xc0, 0x00, 0x00, 0x00, 0x80};
  ASSERT_EQ(decode(add_imm32, sizeof add_imm32, &d), DecodeStatus::Ok);
  EXPECT_EQ(d.imm, 0xffffffff80000000ull);

  const uint8_t rip_rel[] = {0x44, 0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff};
  ASSERT_EQ(decode(rip_rel, sizeof rip_rel, &d), DecodeStatus::Ok);
  EXPECT_TRUE(d.rip_relative);
  EXPECT_EQ(d.disp, -16);
  EXPECT_EQ(d.reg, R8);

  const uint8_t sib[] = {0x67, 0x43, 0x8b, 0x44, 0xa5, 0x7f};  // mov eax, [r13d+r12d*4+0x7f]
  ASSERT_EQ(decode(sib, sizeof sib, &d), DecodeStatus::Ok);
  EXPECT_EQ(d.len, 6);
  EXPECT_EQ(d.addrsize, 4);
  EXPECT_EQ(d.base, R13);
  EXPECT_EQ(d.index, R12);
  EXPECT_EQ(d.scale, 2);
  EXPECT_EQ(d.disp, 0x7f);

  const uint8_t no_base[] = {0x8b, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00};
  ASSERT_EQ(decode(no_base, sizeof no_base, &d), DecodeStatus::Ok);
  EXPECT_EQ(d.base, kNoReg);
  EXPECT_EQ(d.index, kNoReg);
  EXPECT_EQ(d.disp, 0x10);

  const uint8_t test_imm[] = {0xf7, 0xc1, 1, 0, 0, 0};  // test ecx, 1: F7 /0 has an immediate
  ASSERT_EQ(decode(test_imm, sizeof test_imm, &d), DecodeStatus::Ok);
  EXPECT_EQ(d.len, 6);
  const uint8_t neg[] = {0xf7, 0xd9};  // neg ecx: no immediate
  ASSERT_EQ(decode(neg, sizeof neg, &d), DecodeStatus::Ok);
  EXPECT_EQ(d.len, 2);
}

TEST(X86Decode, RexRulesTruncationAndLengthLimit) {
  DecodedInsn d;
  const uint8_t rex_then_66[] = {0x48, 0x66, 0x01, 0xc0};  // REX before a legacy prefix is ignored
  ASSERT_EQ(decode(rex_then_66, sizeof rex_then_66, &d), DecodeStatus::Ok);
  EXPECT_EQ(d.rex, 0);
  EXPECT_EQ(d.opsize, 2);

  const uint8_t truncated[] = {0x48, 0xb8, 1, 2};
  EXPECT_EQ(decode(truncated, sizeof truncated, &d), DecodeStatus::Truncated);

  uint8_t too_long[15];
  std::fill(std::begin(too_long), std::end(too_long), 0x66);
  EXPECT_EQ(decode(too_long, sizeof too_long, &d), DecodeStatus::Invalid);
}

TEST_F(InterpTest, ByteRegistersFollowTheRexRule) {
  load({0x88, 0xe0,          // mov al, ah
        0x40, 0x88, 0xf3});  // mov bl, sil
  st_.regs[RAX] = 0x1234;
  st_.regs[RSI] = 0x99;
  ASSERT_EQ(run(2), StepResult::Ok);
  EXPECT_EQ(st_.regs[RAX], 0x1212u);
  EXPECT_EQ(st_.regs[RBX], 0x99u);
}

}  // namespace
}  // namespace machina::x86
