// 16- and 32-bit code segments: the decoder's modes, and the interpreter carrying a CPU from real
// mode through protected mode and compatibility mode into 64-bit mode, as an application
// processor's start-up code (Linux's trampoline) does.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "target/i386/decode.h"
#include "target/i386/interp.h"

namespace machina::x86 {
namespace {

TEST(LegacyDecode, SixteenBitModrmFormsAndDefaultSizes) {
  DecodedInsn d;
  // mov 0x200(%bx,%si),%dx
  const uint8_t a[] = {0x8b, 0x90, 0x00, 0x02};
  ASSERT_EQ(decode(a, sizeof a, &d, CodeMode::k16), DecodeStatus::Ok);
  EXPECT_EQ(d.len, 4);
  EXPECT_EQ(d.opsize, 2);
  EXPECT_EQ(d.addrsize, 2);
  EXPECT_EQ(d.base, RBX);
  EXPECT_EQ(d.index, RSI);
  EXPECT_EQ(d.disp, 0x200);
  EXPECT_EQ(d.reg, RDX);
  // mov (%bp),%ax has no mod-0 form: [disp16] instead; mod 1 with BP defaults to SS.
  const uint8_t b[] = {0x8b, 0x06, 0x34, 0x12};  // mov 0x1234,%ax
  ASSERT_EQ(decode(b, sizeof b, &d, CodeMode::k16), DecodeStatus::Ok);
  EXPECT_EQ(d.base, kNoReg);
  EXPECT_EQ(d.index, kNoReg);
  EXPECT_EQ(d.disp, 0x1234);
  // 66 and 67 switch to 32 bits in a 16-bit segment: movl $1, (%eax)
  const uint8_t c[] = {0x66, 0x67, 0xc7, 0x00, 0x01, 0x00, 0x00, 0x00};
  ASSERT_EQ(decode(c, sizeof c, &d, CodeMode::k16), DecodeStatus::Ok);
  EXPECT_EQ(d.opsize, 4);
  EXPECT_EQ(d.addrsize, 4);
  EXPECT_EQ(d.len, 8);
  EXPECT_EQ(d.imm, 1u);
  // ...and to 16 bits in a 32-bit segment.
  ASSERT_EQ(decode(c + 2, 6, &d, CodeMode::k32), DecodeStatus::Ok);
  EXPECT_EQ(d.opsize, 4);
  EXPECT_EQ(d.len, 6);
  const uint8_t e[] = {0x66, 0xb8, 0x34, 0x12};  // mov $0x1234,%ax
  ASSERT_EQ(decode(e, sizeof e, &d, CodeMode::k32), DecodeStatus::Ok);
  EXPECT_EQ(d.opsize, 2);
  EXPECT_EQ(d.len, 4);
}

TEST(LegacyDecode, OpcodesThatDifferFrom64BitMode) {
  DecodedInsn d;
  // 0x41 is INC %ecx in a 32-bit segment, a REX prefix in 64-bit mode.
  const uint8_t inc[] = {0x41, 0x90};
  ASSERT_EQ(decode(inc, sizeof inc, &d, CodeMode::k32), DecodeStatus::Ok);
  EXPECT_EQ(d.opcode, 0x41);
  EXPECT_EQ(d.len, 1);
  EXPECT_TRUE(d.legacy);
  ASSERT_EQ(decode(inc, sizeof inc, &d, CodeMode::k64), DecodeStatus::Ok);
  EXPECT_EQ(d.opcode, 0x90);
  EXPECT_EQ(d.rex, 0x41);
  EXPECT_FALSE(d.legacy);
  // [disp32] outside 64-bit mode, RIP-relative in it: mov %ebx,0x2000
  const uint8_t abs[] = {0x89, 0x1d, 0x00, 0x20, 0x00, 0x00};
  ASSERT_EQ(decode(abs, sizeof abs, &d, CodeMode::k32), DecodeStatus::Ok);
  EXPECT_FALSE(d.rip_relative);
  EXPECT_EQ(d.base, kNoReg);
  EXPECT_EQ(d.disp, 0x2000);
  ASSERT_EQ(decode(abs, sizeof abs, &d, CodeMode::k64), DecodeStatus::Ok);
  EXPECT_TRUE(d.rip_relative);
  // Far jumps to a pointer: ptr16:32 (66 in 16-bit code), ptr16:16; invalid in 64-bit mode.
  const uint8_t ljmpl[] = {0x66, 0xea, 0x00, 0x11, 0x00, 0x00, 0x08, 0x00};
  ASSERT_EQ(decode(ljmpl, sizeof ljmpl, &d, CodeMode::k16), DecodeStatus::Ok);
  EXPECT_EQ(d.len, 8);
  EXPECT_EQ(d.imm, 0x1100u);
  EXPECT_EQ(d.sel, 0x08);
  ASSERT_EQ(decode(ljmpl + 1, 5, &d, CodeMode::k16), DecodeStatus::Ok);
  EXPECT_EQ(d.len, 5);
  EXPECT_EQ(d.imm, 0x1100u);
  EXPECT_EQ(d.sel, 0x00);
  EXPECT_EQ(decode(ljmpl + 1, 7, &d, CodeMode::k64), DecodeStatus::Invalid);
  // Near branches take a 16-bit displacement with a 16-bit operand size.
  const uint8_t call[] = {0xe8, 0x1e, 0x00};
  ASSERT_EQ(decode(call, sizeof call, &d, CodeMode::k16), DecodeStatus::Ok);
  EXPECT_EQ(d.len, 3);
  EXPECT_EQ(d.imm, 0x1eu);
  // moffs16 is an unsigned 16-bit offset: mov 0x8000,%al
  const uint8_t moffs[] = {0xa0, 0x00, 0x80};
  ASSERT_EQ(decode(moffs, sizeof moffs, &d, CodeMode::k16), DecodeStatus::Ok);
  EXPECT_EQ(d.imm, 0x8000u);
  // PUSH ES and PUSHA exist only outside 64-bit mode.
  const uint8_t push_es[] = {0x06};
  EXPECT_EQ(decode(push_es, 1, &d, CodeMode::k32), DecodeStatus::Ok);
  EXPECT_EQ(decode(push_es, 1, &d, CodeMode::k64), DecodeStatus::Invalid);
}

// A CPU after a start-up IPI with vector 0x01: real mode, CS = 0x0100 (base 0x1000), IP = 0.
class LegacyModeTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kGdt = 0x1800;

  LegacyModeTest() : ram_(0x20000, 0), mem_(ram_.data(), ram_.size(), 0) {
    for (SegmentCache& sc : st_.seg) sc = {0, 0, 0xffff, kDescP | kDescS | (0x3u << 8)};
    st_.seg[CS] = {0x0100, 0x1000, 0xffff, kDescP | kDescS | (0xbu << 8)};
    st_.idtr = {0, 0x3ff};
    st_.rip = 0;
    // GDT: null, 0x08 32-bit code, 0x10 data, 0x18 64-bit code (all flat).
    const uint64_t gdt[] = {0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull, 0x00af9a000000ffffull};
    std::memcpy(&ram_[kGdt], gdt, sizeof gdt);
    // Page tables for long mode (FlatMemory does not walk them; the mode switch checks CR4.PAE).
    put64(0x10000, 0x11003);
    put64(0x11000, 0x12003);
    put64(0x12000, 0x83);
  }
  void put(uint64_t addr, const std::vector<uint8_t>& bytes) {
    std::memcpy(&ram_[addr], bytes.data(), bytes.size());
  }
  void put64(uint64_t addr, uint64_t v) { std::memcpy(&ram_[addr], &v, 8); }
  uint32_t get32(uint64_t addr) const {
    uint32_t v;
    std::memcpy(&v, &ram_[addr], 4);
    return v;
  }
  StepResult run(int max_steps = 200) {
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

TEST_F(LegacyModeTest, FromRealModeThroughProtectedAndCompatibilityModeInto64BitMode) {
  // Real mode, at 0x1000 (GNU as, .code16):
  put(0x1000, {
                  0x8c, 0xc8,                                      // mov %cs,%ax
                  0x8e, 0xd8,                                      // mov %ax,%ds
                  0x8e, 0xd0,                                      // mov %ax,%ss
                  0xbc, 0x00, 0x0f,                                // mov $0xf00,%sp
                  0xbb, 0x34, 0x12,                                // mov $0x1234,%bx
                  0xbe, 0x04, 0x00,                                // mov $0x4,%si
                  0xc7, 0x80, 0x00, 0x02, 0xef, 0xbe,              // movw $0xbeef,0x200(%bx,%si)
                  0x8b, 0x90, 0x00, 0x02,                          // mov 0x200(%bx,%si),%dx
                  0x68, 0x55, 0x55,                                // push $0x5555
                  0x59,                                            // pop %cx
                  0x41,                                            // inc %cx
                  0x60,                                            // pusha
                  0x31, 0xc0,                                      // xor %ax,%ax
                  0x61,                                            // popa
                  0xe8, 0x1e, 0x00,                                // call sub1 (0x43)
                  0xcd, 0x40,                                      // int $0x40
                  0x66, 0x0f, 0x01, 0x1e, 0x60, 0x00,              // lidtl 0x60
                  0x66, 0x0f, 0x01, 0x16, 0x66, 0x00,              // lgdtl 0x66
                  0x0f, 0x20, 0xc0,                                // mov %cr0,%eax
                  0x0c, 0x01,                                      // or $0x1,%al
                  0x0f, 0x22, 0xc0,                                // mov %eax,%cr0
                  0x66, 0xea, 0x00, 0x11, 0x00, 0x00, 0x08, 0x00,  // ljmpl $0x8,$0x1100
                  0xbf, 0x77, 0x00,                                // sub1: mov $0x77,%di
                  0xc3,                                            // ret
              });
  put(0x1060, {0xff, 0x03, 0x00, 0x00, 0x00, 0x00});  // idtr0: limit 0x3ff, base 0
  put(0x1066, {0x27, 0x00, 0x00, 0x18, 0x00, 0x00});  // gdtr0: limit 0x27, base 0x1800
  put(0x1080, {0xbd, 0x42, 0x42, 0xcf});              // handler: mov $0x4242,%bp; iret
  put(0x100, {0x80, 0x10, 0x00, 0x00});               // IVT[0x40] = 0000:1080
  // Protected mode, 32-bit code at 0x1100 (.code32):
  put(0x1100, {
                  0xb8, 0x10, 0x00, 0x00, 0x00,              // mov $0x10,%eax
                  0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0,        // mov %eax,%ds; %es; %ss
                  0xbc, 0x00, 0x90, 0x00, 0x00,              // mov $0x9000,%esp
                  0x68, 0x78, 0x56, 0x34, 0x12,              // push $0x12345678
                  0x5b,                                      // pop %ebx
                  0x4b,                                      // dec %ebx
                  0x89, 0x1d, 0x00, 0x20, 0x00, 0x00,        // mov %ebx,0x2000
                  0x0f, 0x20, 0xe0,                          // mov %cr4,%eax
                  0x83, 0xc8, 0x20,                          // or $0x20,%eax (PAE)
                  0x0f, 0x22, 0xe0,                          // mov %eax,%cr4
                  0xb8, 0x00, 0x00, 0x01, 0x00,              // mov $0x10000,%eax
                  0x0f, 0x22, 0xd8,                          // mov %eax,%cr3
                  0xb9, 0x80, 0x00, 0x00, 0xc0,              // mov $0xc0000080,%ecx (EFER)
                  0x0f, 0x32,                                // rdmsr
                  0x0d, 0x00, 0x01, 0x00, 0x00,              // or $0x100,%eax (LME)
                  0x0f, 0x30,                                // wrmsr
                  0x0f, 0x20, 0xc0,                          // mov %cr0,%eax
                  0x0d, 0x00, 0x00, 0x00, 0x80,              // or $0x80000000,%eax (PG)
                  0x0f, 0x22, 0xc0,                          // mov %eax,%cr0: compatibility mode
                  0xbf, 0x04, 0x20, 0x00, 0x00,              // mov $0x2004,%edi
                  0xc7, 0x07, 0xee, 0xff, 0xc0, 0x00,        // movl $0xc0ffee,(%edi)
                  0xea, 0x00, 0x12, 0x00, 0x00, 0x18, 0x00,  // ljmp $0x18,$0x1200
              });
  // 64-bit code at 0x1200:
  put(0x1200, {
                  0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // movabs ..,%rax
                  0x50,                                                        // push %rax
                  0x5a,                                                        // pop %rdx
                  0xf4,                                                        // hlt
              });

  ASSERT_EQ(run(), StepResult::Halt)
      << "stopped at cs=" << st_.seg[CS].selector << " rip=0x" << std::hex << st_.rip;
  // Real mode: 16-bit addressing through DS (0x1000 + 0x1234 + 4 + 0x200), PUSHA/POPA, a near
  // call, a software interrupt through the IVT and IRET.
  EXPECT_EQ(ram_[0x2438] | (ram_[0x2439] << 8), 0xbeef);
  EXPECT_EQ(st_.regs[RDX], 0x1122334455667788u);  // then 64-bit code overwrote it
  EXPECT_EQ(st_.regs[RCX] & 0xffff, 0x80u);       // then ECX = EFER's number
  EXPECT_EQ(st_.regs[RDI], 0x2004u);
  EXPECT_EQ(st_.regs[RBP] & 0xffff, 0x4242u);
  EXPECT_EQ(st_.regs[RSI] & 0xffff, 4u);
  // Protected mode: flat 32-bit segments, a 32-bit stack, [disp32] addressing.
  EXPECT_EQ(get32(0x2000), 0x12345677u);
  EXPECT_EQ(st_.regs[RBX], 0x12345677u);
  // Compatibility mode still ran 32-bit code.
  EXPECT_EQ(get32(0x2004), 0xc0ffeeu);
  // 64-bit mode at last.
  EXPECT_TRUE(st_.long_mode());
  EXPECT_EQ(code_mode(st_), CodeMode::k64);
  EXPECT_EQ(st_.seg[CS].selector, 0x18);
  EXPECT_EQ(st_.rip, 0x1200u + 13);
  EXPECT_EQ(st_.regs[RAX], 0x1122334455667788u);
  EXPECT_EQ(st_.regs[RSP], 0x9000u);
  EXPECT_EQ(st_.gdtr.base, kGdt);
  EXPECT_EQ(st_.gdtr.limit, 0x27u);
}

TEST_F(LegacyModeTest, RealModeStackAndInstructionPointerAre16Bits) {
  // At CS:IP 0100:0000 with SS:SP 0000:0000: a push wraps SP to 0xfffe; JMP wraps IP.
  st_.regs[RSP] = 0xabcd0000;  // bits above SP stay
  st_.seg[SS] = {0x0200, 0x2000, 0xffff, kDescP | kDescS | (0x3u << 8)};
  put(0x1000, {0x6a, 0x7f,          // push $0x7f
               0xe9, 0xfb, 0xef});  // jmp . - 0x1000 (wraps to 0xf000)
  ASSERT_EQ(step(st_, mem_), StepResult::Ok);
  EXPECT_EQ(st_.regs[RSP], 0xabcdfffeu);
  EXPECT_EQ(ram_[0x2000 + 0xfffe], 0x7f);
  ASSERT_EQ(step(st_, mem_), StepResult::Ok);
  EXPECT_EQ(st_.rip, 0xf000u);
}

TEST_F(LegacyModeTest, ProtectedModeFarJumpChecksTheDescriptor) {
  st_.cr0 |= kCr0PE;
  st_.gdtr = {kGdt, 0x1f};
  put(0x1000, {0xea, 0x00, 0x00, 0x10, 0x00});  // ljmp $0x10,$0: a data segment
  ASSERT_EQ(step(st_, mem_), StepResult::Exception);
  EXPECT_EQ(st_.exc.vector, kExcGP);
  EXPECT_EQ(st_.exc.error_code, 0x10u);
  EXPECT_EQ(st_.seg[CS].selector, 0x0100);  // unchanged
  st_.exc = {};
  put(0x1000, {0xea, 0x00, 0x00, 0x20, 0x00});  // beyond the GDT's limit
  ASSERT_EQ(step(st_, mem_), StepResult::Exception);
  EXPECT_EQ(st_.exc.vector, kExcGP);
  EXPECT_EQ(st_.exc.error_code, 0x20u);
}

TEST_F(LegacyModeTest, ProtectedModeInterruptsAreNotDeliveredButRaised) {
  // 32-bit IDT gates are not implemented: INT in protected mode (outside long mode) faults.
  st_.cr0 |= kCr0PE;
  put(0x1000, {0xcd, 0x40});
  EXPECT_EQ(step(st_, mem_), StepResult::Exception);
  EXPECT_EQ(st_.exc.vector, kExcGP);
}

}  // namespace
}  // namespace machina::x86
