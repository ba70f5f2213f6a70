// x87 behaviour checked against the SDM rather than the host: stack overflow and underflow
// (C1, IE, SF, the QNaN indefinite), unmasked exceptions and the pending #MF of the next
// waiting instruction (x87 or MMX), FNCLEX, MMX aliasing of the x87 registers, the
// last-instruction pointers, precision control, and that arithmetic matches the host's
// 80-bit long double.
#include <gtest/gtest.h>

#include <cstring>

#include "target/i386/sse/sse_machine.h"

namespace machina::x86::test {
namespace {

constexpr uint64_t kIndefiniteMant = 0xc000000000000000ull;
constexpr uint16_t kIndefiniteSe = 0xffff;

const X87Reg& st(const Machine& m, unsigned i) {
  return m.s.fpu.r[(m.s.fpu.top + i) & 7];
}

long double as_ld(const X87Reg& r) {
  long double v = 0;
  std::memcpy(&v, &r.mant, 8);
  std::memcpy(reinterpret_cast<uint8_t*>(&v) + 8, &r.sign_exp, 2);
  return v;
}

TEST(X87, StackOverflowLoadsIndefinite) {
  Machine m;
  m.ok({0xdb, 0xe3});                              // fninit
  for (int i = 0; i < 8; i++) m.ok({0xd9, 0xe8});  // fld1
  EXPECT_EQ(m.s.fpu.ftw, 0xff);
  EXPECT_EQ(m.s.fpu.fsw & (kFswIE | kFswSF), 0);
  m.ok({0xd9, 0xe8});  // ninth push
  EXPECT_EQ(m.s.fpu.fsw & (kFswIE | kFswSF | kFswC1), kFswIE | kFswSF | kFswC1);
  EXPECT_EQ(m.s.fpu.fsw & kFswES, 0);  // masked
  EXPECT_EQ(m.s.fpu.top, 7);
  EXPECT_EQ(st(m, 0).mant, kIndefiniteMant);
  EXPECT_EQ(st(m, 0).sign_exp, kIndefiniteSe);
}

TEST(X87, StackUnderflowMaskedAndUnmasked) {
  Machine m;
  m.ok({0xdb, 0xe3});
  m.ok({0xd8, 0xc1});  // fadd st0, st1 on an empty stack
  EXPECT_EQ(m.s.fpu.fsw & (kFswIE | kFswSF | kFswC1), kFswIE | kFswSF);  // C1 = 0: underflow
  EXPECT_EQ(m.s.fpu.ftw, 0x01);  // the indefinite went to ST(0)
  EXPECT_EQ(st(m, 0).mant, kIndefiniteMant);
  // Unmasked invalid operation: nothing changes but FSW, and the next waiting x87 or MMX
  // instruction raises #MF.
  m.ok({0xdb, 0xe3});
  m.s.regs[RAX] = kData;
  uint16_t cw = 0x037e;
  std::memcpy(m.ram.data() + kData, &cw, 2);
  m.ok({0xd9, 0x28});  // fldcw [rax]
  m.ok({0xd8, 0xc1});
  EXPECT_EQ(m.s.fpu.fsw & (kFswIE | kFswSF | kFswES | kFswB), kFswIE | kFswSF | kFswES | kFswB);
  EXPECT_EQ(m.s.fpu.ftw, 0);
  EXPECT_EQ(m.s.fpu.top, 0);
  m.expect_exc({0xd9, 0xe8}, kExcMF);        // fld1
  m.expect_exc({0x0f, 0xfc, 0xc1}, kExcMF);  // paddb mm0, mm1
  m.ok({0xdf, 0xe0});                        // fnstsw ax does not wait
  EXPECT_EQ(m.s.regs[RAX] & 0xffff, static_cast<uint64_t>(m.s.fpu.status_word()));
  m.ok({0xdb, 0xe2});  // fnclex
  EXPECT_EQ(m.s.fpu.fsw & 0x80ff, 0);
  m.ok({0xd9, 0xe8});
  // Without CR0.NE the error is not reported through #MF.
  m.ok({0xd8, 0xc2});  // fadd st0, st2 (empty)
  m.s.cr0 &= ~kCr0NE;
  m.ok({0xd9, 0xe8});
}

TEST(X87, MmxAliasesTheX87Registers) {
  Machine m;
  m.ok({0xdb, 0xe3});
  m.ok({0xd9, 0xe8});  // fld1: TOP = 7
  uint64_t v = 0x0123456789abcdefull;
  std::memcpy(m.ram.data() + kData, &v, 8);
  m.s.regs[RAX] = kData;
  m.ok({0x0f, 0x6f, 0x18});  // movq mm3, [rax]
  EXPECT_EQ(m.s.fpu.r[3].mant, v);
  EXPECT_EQ(m.s.fpu.r[3].sign_exp, 0xffff);
  EXPECT_EQ(m.s.fpu.top, 0);
  EXPECT_EQ(m.s.fpu.ftw, 0xff);
  m.ok({0x0f, 0x77});  // emms
  EXPECT_EQ(m.s.fpu.ftw, 0);
  m.ok({0xd9, 0xe8});  // the stack is usable again: no overflow
  EXPECT_EQ(m.s.fpu.fsw & kFswIE, 0);
  // An x87 value read as MMX: the significand.
  m.ok({0x0f, 0x7e, 0xc8 | 0});  // movd eax, mm1
  m.ok({0x0f, 0x7f, 0x38});      // movq [rax], mm7 (ST(0) after the fld1 above)
  uint64_t out;
  std::memcpy(&out, m.ram.data() + m.s.regs[RAX], 8);
  EXPECT_EQ(out, 0x8000000000000000ull);
}

TEST(X87, ArithmeticMatchesLongDouble) {
  Machine m;
  m.ok({0xdb, 0xe3});
  int32_t three = 3;
  std::memcpy(m.ram.data() + kData, &three, 4);
  m.s.regs[RAX] = kData;
  m.ok({0xd9, 0xe8});  // fld1
  m.ok({0xda, 0x30});  // fidiv dword [rax]
  volatile long double one = 1.0L;
  EXPECT_EQ(as_ld(st(m, 0)), one / 3);
  EXPECT_NE(m.s.fpu.fsw & kFswPE, 0);
  // Precision control: single precision rounds the significand to 24 bits.
  uint16_t cw = 0x007f;
  std::memcpy(m.ram.data() + kData + 8, &cw, 2);
  m.ok({0xd9, 0x68, 0x08});  // fldcw [rax+8]
  m.ok({0xd9, 0xe8});
  m.ok({0xda, 0x30});
  EXPECT_EQ(as_ld(st(m, 0)), static_cast<long double>(1.0f / 3.0f));
  // FIP, FOP and FDP of the last non-control instruction.
  EXPECT_EQ(m.s.fpu.fip, kCode);
  EXPECT_EQ(m.s.fpu.fop, 0x230);  // DA 30: (2 << 8) | 0x30
  EXPECT_EQ(m.s.fpu.fdp, kData);
  m.ok({0xd9, 0x78, 0x10});  // fnstcw: a control instruction leaves them alone
  EXPECT_EQ(m.s.fpu.fop, 0x230);
  // FCOMI sets ZF/PF/CF: 1/3 < 1.
  m.ok({0xd9, 0xe8});  // fld1: ST0 = 1, ST1 = 1/3
  m.ok({0xdb, 0xf1});  // fcomi st0, st1
  EXPECT_EQ(m.s.rflags() & kArithFlags, 0u);
  m.ok({0xd9, 0xc9});  // fxch st1
  m.ok({0xdb, 0xf1});
  EXPECT_EQ(m.s.rflags() & kArithFlags, kCF);
}

TEST(X87, StoresAndEnvironment) {
  Machine m;
  m.ok({0xdb, 0xe3});
  m.s.regs[RAX] = kData;
  m.ok({0xd9, 0xeb});  // fldpi
  m.ok({0xdd, 0x18});  // fstp qword [rax]
  double pi;
  std::memcpy(&pi, m.ram.data() + kData, 8);
  EXPECT_EQ(pi, 3.141592653589793);
  EXPECT_EQ(m.s.fpu.ftw, 0);
  // FNSTENV stores, then masks every exception; FLDENV restores the control word.
  uint16_t cw = 0x0360;
  std::memcpy(m.ram.data() + kData + 0x40, &cw, 2);
  m.ok({0xd9, 0x68, 0x40});  // fldcw
  m.ok({0xd9, 0x70, 0x50});  // fnstenv [rax+0x50]
  EXPECT_EQ(m.s.fpu.fcw, 0x037f);
  uint16_t saved_cw;
  std::memcpy(&saved_cw, m.ram.data() + kData + 0x50, 2);
  EXPECT_EQ(saved_cw, 0x0360);
  uint16_t tags;
  std::memcpy(&tags, m.ram.data() + kData + 0x58, 2);
  EXPECT_EQ(tags, 0xffff);
  m.ok({0xd9, 0x60, 0x50});  // fldenv
  EXPECT_EQ(m.s.fpu.fcw, 0x0360);
  // FNSAVE stores then reinitializes; FRSTOR brings the stack back.
  m.ok({0xd9, 0xe8});
  m.ok({0xdd, 0x70, 0x70});  // fnsave [rax+0x70]
  EXPECT_EQ(m.s.fpu.fcw, 0x037f);
  EXPECT_EQ(m.s.fpu.ftw, 0);
  m.ok({0xdd, 0x60, 0x70});  // frstor
  EXPECT_EQ(m.s.fpu.fcw, 0x0360);
  EXPECT_EQ(as_ld(st(m, 0)), 1.0L);
  EXPECT_EQ(m.s.fpu.ftw, 0x80);
}

TEST(X87, MemoryFaultsLeaveTheStateAlone) {
  Machine m;
  m.ok({0xdb, 0xe3});
  m.ok({0xd9, 0xe8});
  FpuState before = m.s.fpu;
  m.s.regs[RAX] = 0x100000;                                  // outside the flat memory
  EXPECT_EQ(m.exec({0xdd, 0x18}), StepResult::MemoryFault);  // fstp qword [rax]
  EXPECT_EQ(m.s.fpu.top, before.top);
  EXPECT_EQ(m.s.fpu.ftw, before.ftw);
  EXPECT_EQ(m.exec({0xd8, 0x00}), StepResult::MemoryFault);        // fadd dword [rax]
  EXPECT_EQ(m.exec({0x0f, 0xae, 0x38}), StepResult::MemoryFault);  // clflush
  EXPECT_EQ(m.exec({0x66, 0x0f, 0xf7, 0xc1}), StepResult::Ok);     // maskmovdqu, mask 0
  m.s.regs[RDI] = 0x100000;
  m.s.fpu.xmm[1].q[0] = 0x80;
  EXPECT_EQ(m.exec({0x66, 0x0f, 0xf7, 0xc1}), StepResult::MemoryFault);
}

}  // namespace
}  // namespace machina::x86::test
