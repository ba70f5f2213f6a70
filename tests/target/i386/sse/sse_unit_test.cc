// Unit tests of the SSE/MMX/x87 behaviour the differential tests cannot reach natively: the
// CR0/CR4 checks (#UD, #NM), #GP for misaligned operands, unmasked SIMD exceptions (#XM or
// #UD), reserved MXCSR bits, x87 stack faults and the pending #MF, FXSAVE/FXRSTOR formats,
// MMX aliasing of the x87 registers, encodings of unadvertised extensions (#UD), and the
// meaning of the MXCSR rounding/DAZ/FTZ controls.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "target/i386/sse/sse_machine.h"

namespace machina::x86::test {
namespace {

TEST(SseChecks, SseNeedsOsfxsrAndNotEm) {
  Machine m;
  m.s.cr4 &= ~kCr4OSFXSR;
  EXPECT_EQ(m.exec({0x0f, 0x58, 0xc1}), StepResult::InvalidOp);  // addps xmm0, xmm1
  EXPECT_EQ(m.exec({0x0f, 0xfc, 0xc1}), StepResult::Ok);         // paddb mm0, mm1: MMX only
  EXPECT_EQ(m.exec({0x0f, 0xae, 0x10}), StepResult::InvalidOp);  // ldmxcsr [rax]
  m.s.cr4 |= kCr4OSFXSR;
  m.s.cr0 |= kCr0EM;
  EXPECT_EQ(m.exec({0x0f, 0x58, 0xc1}), StepResult::InvalidOp);
  EXPECT_EQ(m.exec({0x0f, 0xfc, 0xc1}), StepResult::InvalidOp);
  m.expect_exc({0xd9, 0xe8}, kExcNM);        // fld1: x87 with EM is #NM
  m.expect_exc({0x0f, 0xae, 0x00}, kExcNM);  // fxsave
}

TEST(SseChecks, TaskSwitchedIsDeviceNotAvailable) {
  Machine m;
  m.s.cr0 |= kCr0TS;
  m.expect_exc({0x0f, 0x58, 0xc1}, kExcNM);
  m.expect_exc({0x0f, 0xfc, 0xc1}, kExcNM);
  m.expect_exc({0xd9, 0xe8}, kExcNM);
  m.expect_exc({0x0f, 0xae, 0x08}, kExcNM);  // fxrstor
  m.expect_exc({0x0f, 0xae, 0x18}, kExcNM);  // stmxcsr
  m.ok({0x0f, 0xae, 0xf0});                  // mfence needs no FPU
}

TEST(SseChecks, MisalignedAlignedFormsAreGp0) {
  Machine m;
  m.s.regs[RAX] = kData + 8;
  std::memset(m.ram.data() + kData, 0x5a, 64);
  const std::vector<std::vector<uint8_t>> gp = {
      {0x0f, 0x28, 0x00},        // movaps xmm0, [rax]
      {0x0f, 0x29, 0x00},        // movaps [rax], xmm0
      {0x66, 0x0f, 0x6f, 0x00},  // movdqa
      {0x0f, 0x58, 0x00},        // addps xmm0, m128
      {0x66, 0x0f, 0xfc, 0x00},  // paddb xmm0, m128
      {0x0f, 0x2b, 0x00},        // movntps
      {0x0f, 0xae, 0x00},        // fxsave
  };
  for (const auto& c : gp) {
    EXPECT_EQ(m.exec(c), StepResult::Exception) << c[1];
    EXPECT_EQ(m.s.exc.vector, kExcGP);
    EXPECT_TRUE(m.s.exc.has_error_code);
    EXPECT_EQ(m.s.exc.error_code, 0u);
  }
  EXPECT_EQ(m.ram[kData + 8], 0x5a);  // nothing stored
  m.ok({0x0f, 0x10, 0x00});           // movups
  m.ok({0xf3, 0x0f, 0x6f, 0x00});     // movdqu
  m.ok({0xf3, 0x0f, 0x58, 0x00});     // addss m32
  m.ok({0x0f, 0xfc, 0x00});           // paddb mm0, m64
  m.ok({0x0f, 0x5a, 0x00});           // cvtps2pd m64
}

TEST(SseExceptions, UnmaskedDivideByZeroIsXm) {
  Machine m;
  m.s.fpu.mxcsr = 0x1f80 & ~(1u << 9);  // ZM clear
  m.set_xmm_f32(0, 1, 2, 3, 4);
  m.set_xmm_f32(1, 1, 0, 1, 1);
  XmmReg before = m.s.fpu.xmm[0];
  m.expect_exc({0x0f, 0x5e, 0xc1}, kExcXM);  // divps xmm0, xmm1
  EXPECT_EQ(std::memcmp(&before, &m.s.fpu.xmm[0], 16), 0);
  EXPECT_EQ(m.s.fpu.mxcsr & kMxcsrFlags, 4u);  // ZE
  // Without CR4.OSXMMEXCPT the same fault is #UD.
  m.s.cr4 &= ~kCr4OSXMMEXCPT;
  m.s.fpu.mxcsr &= ~kMxcsrFlags;
  EXPECT_EQ(m.exec({0x0f, 0x5e, 0xc1}), StepResult::InvalidOp);
  EXPECT_EQ(m.s.fpu.mxcsr & kMxcsrFlags, 4u);
  // Masked: the quotient is infinity and ZE is set.
  m.s.fpu.mxcsr = 0x1f80;
  m.ok({0x0f, 0x5e, 0xc1});
  EXPECT_EQ(m.xmm_f32(0, 1), __builtin_inff());
  EXPECT_EQ(m.xmm_f32(0, 0), 1.0f);
  EXPECT_EQ(m.s.fpu.mxcsr & kMxcsrFlags, 4u);
}

TEST(SseExceptions, PreComputationExceptionsWinOverPostComputation) {
  Machine m;
  m.s.fpu.mxcsr = 0x1f80 & ~((1u << 7) | (1u << 12));  // IM, PM clear
  float snan;
  uint32_t bits = 0x7f800001;
  std::memcpy(&snan, &bits, 4);
  m.set_xmm_f32(0, snan, 1.0f, 0, 0);
  m.set_xmm_f32(1, 1.0f, 1e-10f, 0, 0);
  m.expect_exc({0x0f, 0x58, 0xc1}, kExcXM);    // addps: lane 0 invalid, lane 1 inexact
  EXPECT_EQ(m.s.fpu.mxcsr & kMxcsrFlags, 1u);  // IE only
  // Only the inexact lane: post-computation #XM, PE set, destination unchanged.
  m.s.fpu.mxcsr &= ~kMxcsrFlags;
  m.set_xmm_f32(0, 1.0f, 1.0f, 0, 0);
  m.expect_exc({0x0f, 0x58, 0xc1}, kExcXM);
  EXPECT_EQ(m.s.fpu.mxcsr & kMxcsrFlags, 0x20u);
  EXPECT_EQ(m.xmm_f32(0, 1), 1.0f);
}

TEST(SseExceptions, UnmaskedUnderflowIgnoresFtz) {
  Machine m;
  // (1 + 2^-20) * 2^-70 * 2^-70 is tiny and inexact: with UM clear it is #XM (UE, PE) even
  // though FTZ is set, and the destination keeps its value.
  m.s.fpu.mxcsr = (0x1f80 & ~(1u << 11)) | kMxcsrFTZ;
  m.set_xmm_f32(0, std::ldexp(1.0f + std::ldexp(1.0f, -20), -70), 0, 0, 0);
  m.set_xmm_f32(1, std::ldexp(1.0f, -70), 0, 0, 0);
  float before = m.xmm_f32(0, 0);
  m.expect_exc({0xf3, 0x0f, 0x59, 0xc1}, kExcXM);  // mulss
  EXPECT_EQ(m.s.fpu.mxcsr & kMxcsrFlags, 0x30u);
  EXPECT_EQ(m.xmm_f32(0, 0), before);
}

TEST(SseExceptions, UnmaskedOverflowAndExactUnderflow) {
  Machine m;
  m.s.fpu.mxcsr = 0x1f80 & ~(1u << 10);  // OM clear
  m.set_xmm_f32(0, 1.0f, 3e38f, 0, 0);
  m.set_xmm_f32(1, 1.0f, 2.0f, 0, 0);
  m.expect_exc({0x0f, 0x59, 0xc1}, kExcXM);  // mulps: lane 1 overflows
  EXPECT_NE(m.s.fpu.mxcsr & 8, 0u);          // OE
  EXPECT_EQ(m.xmm_f32(0, 1), 3e38f);
  // Underflow unmasked: an exact tiny result (2^-140) raises it too, without PE.
  m.s.fpu.mxcsr = 0x1f80 & ~(1u << 11);
  m.set_xmm_f32(0, std::ldexp(1.0f, -70), 0, 0, 0);
  m.set_xmm_f32(1, std::ldexp(1.0f, -70), 0, 0, 0);
  m.expect_exc({0x0f, 0x59, 0xc1}, kExcXM);
  EXPECT_EQ(m.s.fpu.mxcsr & kMxcsrFlags, 0x10u);
  // Masked, the same product is an exact denormal: no flag at all.
  m.s.fpu.mxcsr = 0x1f80;
  m.ok({0x0f, 0x59, 0xc1});
  EXPECT_EQ(m.xmm_f32(0, 0), std::ldexp(1.0f, -140));
  EXPECT_EQ(m.s.fpu.mxcsr & kMxcsrFlags, 0u);
}

TEST(SseExceptions, ComisAndConversionsFaultBeforeWriting) {
  Machine m;
  m.s.fpu.mxcsr = 0x1f80 & ~(1u << 7);
  m.set_xmm_f32(0, __builtin_nanf(""), 0, 0, 0);
  m.set_xmm_f32(1, 1.0f, 0, 0, 0);
  m.s.set_rflags(0x2 | kOF);
  m.expect_exc({0x0f, 0x2f, 0xc1}, kExcXM);  // comiss: QNaN is invalid
  EXPECT_EQ(m.s.rflags() & kArithFlags, kOF);
  m.s.fpu.mxcsr &= ~kMxcsrFlags;
  m.ok({0x0f, 0x2e, 0xc1});  // ucomiss: QNaN is not, unordered
  EXPECT_EQ(m.s.rflags() & kArithFlags, kZF | kPF | kCF);
  m.s.regs[RAX] = 0x1234;
  m.expect_exc({0xf3, 0x48, 0x0f, 0x2d, 0xc0}, kExcXM);  // cvtss2si rax, xmm0 (NaN)
  EXPECT_EQ(m.s.regs[RAX], 0x1234u);
}

TEST(SseExceptions, MxcsrReservedBitsAreGp) {
  Machine m;
  m.s.regs[RAX] = kData;
  uint32_t v = 0x10000 | 0x1f80;
  std::memcpy(m.ram.data() + kData, &v, 4);
  m.expect_exc({0x0f, 0xae, 0x10}, kExcGP);  // ldmxcsr
  EXPECT_EQ(m.s.fpu.mxcsr, 0x1f80u);
  v = 0x7f80 | kMxcsrFTZ | kMxcsrDAZ;
  std::memcpy(m.ram.data() + kData, &v, 4);
  m.ok({0x0f, 0xae, 0x10});
  EXPECT_EQ(m.s.fpu.mxcsr, v);
  m.s.regs[RAX] = kData + 0x100;
  m.ok({0x0f, 0xae, 0x18});  // stmxcsr
  uint32_t out;
  std::memcpy(&out, m.ram.data() + kData + 0x100, 4);
  EXPECT_EQ(out, v);
  // FXRSTOR with reserved MXCSR bits: #GP(0), nothing loaded.
  m.s.regs[RAX] = kData + 0x200;
  m.ok({0x0f, 0xae, 0x00});  // fxsave
  uint32_t bad = 0x80001f80;
  std::memcpy(m.ram.data() + kData + 0x200 + 24, &bad, 4);
  m.s.fpu.fcw = 0x27f;
  m.expect_exc({0x0f, 0xae, 0x08}, kExcGP);
  EXPECT_EQ(m.s.fpu.fcw, 0x27f);
}

TEST(SseEncodings, UnadvertisedExtensionsAreUd) {
  Machine m;
  m.s.regs[RAX] = kData;
  const std::vector<std::vector<uint8_t>> ud = {
      {0xf2, 0x0f, 0xf0, 0x00},              // lddqu (SSE3)
      {0x66, 0x0f, 0xd0, 0xc1},              // addsubpd (SSE3)
      {0xf2, 0x0f, 0xd0, 0xc1},              // addsubps
      {0xf3, 0x0f, 0x12, 0xc1},              // movsldup
      {0xf2, 0x0f, 0x12, 0xc1},              // movddup
      {0xf3, 0x0f, 0x16, 0xc1},              // movshdup
      {0x66, 0x0f, 0x7c, 0xc1},              // haddpd
      {0xf2, 0x0f, 0x7d, 0xc1},              // hsubps
      {0x0f, 0x38, 0x00, 0xc1},              // pshufb (SSSE3)
      {0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x01},  // palignr
      {0x0f, 0xae, 0x20},                    // xsave
      {0x0f, 0xae, 0x28},                    // xrstor
      {0x66, 0x0f, 0xae, 0x38},              // clflushopt
      {0x0f, 0xae, 0xe0},                    // 0F AE /4 register form
      {0xf3, 0x0f, 0xae, 0xc0},              // rdfsbase
      {0x0f, 0x13, 0xc1},                    // movlps has no register form
      {0x0f, 0x50, 0x00},                    // movmskps has no memory form
      {0x0f, 0xc5, 0x00, 0x00},              // pextrw has no memory form
      {0x0f, 0x71, 0x10, 0x01},              // psrlw imm has no memory form
      {0x0f, 0x71, 0xc0, 0x01},              // 0F 71 /0
      {0x0f, 0x73, 0xd8, 0x01},              // psrldq has no MMX form
      {0x0f, 0x6c, 0xc1},                    // punpcklqdq has no MMX form
      {0xf3, 0x0f, 0xfc, 0xc1},              // paddb with F3
      {0x0f, 0xd6, 0xc1},                    // 0F D6 without prefix
      {0x0f, 0xe6, 0xc1},                    // 0F E6 without prefix
      {0xf2, 0x0f, 0x5b, 0xc1},              // 0F 5B with F2
      {0x66, 0x0f, 0x53, 0xc1},              // rcppd does not exist
      {0xd9, 0x08},                          // D9 /1 memory
      {0xd9, 0xd1},                          // reserved D9 D1
      {0xd9, 0xe2},                          // reserved D9 E2
      {0xdb, 0x20},                          // DB /4 memory
      {0xdd, 0x28},                          // DD /5 memory
      {0xda, 0xe0},                          // reserved DA E0
      {0xdf, 0xe1},                          // reserved DF E1
      {0xde, 0xd8},                          // reserved DE D8
  };
  for (const auto& c : ud)
    EXPECT_EQ(m.exec(c), StepResult::InvalidOp) << hex(c.data(), static_cast<unsigned>(c.size()));
}

}  // namespace
}  // namespace machina::x86::test
