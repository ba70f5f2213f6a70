// What the MXCSR controls mean (SDM vol. 1, 10.2.3): rounding control, DAZ and FTZ, checked on
// values whose results are known exactly; and the FXSAVE/FXRSTOR image formats.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "target/i386/sse/sse_machine.h"

namespace machina::x86::test {
namespace {

void set_xmm_f64(Machine& m, unsigned i, double v) {
  std::memcpy(&m.s.fpu.xmm[i], &v, 8);
}

TEST(SseSemantics, RoundingControlOfCvtsd2si) {
  Machine m;
  const double in[] = {2.5, -2.5, 2.7, -2.7};
  // RN, RD, RU, RZ for each input.
  const int64_t expect[4][4] = {{2, 2, 3, 2}, {-2, -3, -2, -2}, {3, 2, 3, 2}, {-3, -3, -2, -2}};
  for (unsigned v = 0; v < 4; v++) {
    for (unsigned rc = 0; rc < 4; rc++) {
      m.s.fpu.mxcsr = 0x1f80 | (rc << 13);
      set_xmm_f64(m, 1, in[v]);
      m.ok({0xf2, 0x48, 0x0f, 0x2d, 0xc1});  // cvtsd2si rax, xmm1
      EXPECT_EQ(static_cast<int64_t>(m.s.regs[RAX]), expect[v][rc]) << in[v] << " rc " << rc;
      EXPECT_EQ(m.s.fpu.mxcsr & kMxcsrFlags, 0x20u);  // inexact
      m.ok({0xf2, 0x48, 0x0f, 0x2c, 0xc1});           // cvttsd2si truncates
      EXPECT_EQ(static_cast<int64_t>(m.s.regs[RAX]), static_cast<int64_t>(in[v]));
    }
  }
  // Out of range: the integer indefinite and IE.
  m.s.fpu.mxcsr = 0x1f80;
  set_xmm_f64(m, 1, 1e30);
  m.ok({0xf2, 0x0f, 0x2d, 0xc1});  // cvtsd2si eax
  EXPECT_EQ(m.s.regs[RAX], 0x80000000u);
  EXPECT_EQ(m.s.fpu.mxcsr & kMxcsrFlags, 1u);
}

TEST(SseSemantics, DenormalsAreZeroAndFlushToZero) {
  Machine m;
  const float tiny = std::ldexp(1.0f, -140);  // a denormal
  m.set_xmm_f32(0, 0.0f, 0, 0, 0);
  m.set_xmm_f32(1, tiny, 0, 0, 0);
  m.s.fpu.mxcsr = 0x1f80;
  m.ok({0xf3, 0x0f, 0x58, 0xc1});  // addss: denormal operand, exact
  EXPECT_EQ(m.xmm_f32(0, 0), tiny);
  EXPECT_EQ(m.s.fpu.mxcsr & kMxcsrFlags, 2u);  // DE
  m.set_xmm_f32(0, 0.0f, 0, 0, 0);
  m.s.fpu.mxcsr = 0x1f80 | kMxcsrDAZ;
  m.ok({0xf3, 0x0f, 0x58, 0xc1});
  EXPECT_EQ(m.xmm_f32(0, 0), 0.0f);
  EXPECT_EQ(m.s.fpu.mxcsr & kMxcsrFlags, 0u);  // no DE with DAZ
  // 2^-70 * 2^-70 underflows to a denormal, or to zero with FTZ (UE and PE set).
  const float small = std::ldexp(1.0f, -70);
  m.set_xmm_f32(0, small, 0, 0, 0);
  m.set_xmm_f32(1, small * 3, 0, 0, 0);
  m.s.fpu.mxcsr = 0x1f80;
  m.ok({0xf3, 0x0f, 0x59, 0xc1});  // mulss
  EXPECT_EQ(m.xmm_f32(0, 0), std::ldexp(3.0f, -140));
  m.set_xmm_f32(0, small, 0, 0, 0);
  m.s.fpu.mxcsr = 0x1f80 | kMxcsrFTZ;
  m.ok({0xf3, 0x0f, 0x59, 0xc1});
  EXPECT_EQ(m.xmm_f32(0, 0), 0.0f);
  EXPECT_EQ(m.s.fpu.mxcsr & kMxcsrFlags, 0x30u);  // UE | PE
}

TEST(SseSemantics, FxsaveLayouts) {
  Machine m;
  m.s.fpu.fcw = 0x027f;
  m.s.fpu.set_status_word(0x3800 | kFswC1);  // TOP = 7
  m.s.fpu.ftw = 0x80;                        // R7 = ST(0) valid
  m.s.fpu.r[7].mant = 0x8000000000000000;
  m.s.fpu.r[7].sign_exp = 0x3fff;
  m.s.fpu.fip = 0x123456789aull;
  m.s.fpu.fdp = 0xabcdef0123ull;
  m.s.fpu.fcs = 0x33;
  m.s.fpu.fds = 0x2b;
  m.s.fpu.fop = 0x1e8;
  m.s.fpu.mxcsr = 0x3f80;
  m.s.fpu.xmm[15].q[1] = 0x1122334455667788ull;
  std::memset(m.ram.data() + kData, 0xee, 512);
  m.s.regs[RAX] = kData;
  m.ok({0x48, 0x0f, 0xae, 0x00});  // fxsave64
  const uint8_t* p = m.ram.data() + kData;
  uint16_t w;
  uint32_t d;
  uint64_t q;
  std::memcpy(&w, p, 2);
  EXPECT_EQ(w, 0x027f);
  std::memcpy(&w, p + 2, 2);
  EXPECT_EQ(w, 0x3800 | kFswC1);
  EXPECT_EQ(p[4], 0x80);
  std::memcpy(&w, p + 6, 2);
  EXPECT_EQ(w, 0x1e8);
  std::memcpy(&q, p + 8, 8);
  EXPECT_EQ(q, 0x123456789aull);
  std::memcpy(&q, p + 16, 8);
  EXPECT_EQ(q, 0xabcdef0123ull);
  std::memcpy(&d, p + 24, 4);
  EXPECT_EQ(d, 0x3f80u);
  std::memcpy(&d, p + 28, 4);
  EXPECT_EQ(d, 0xffffu);       // MXCSR_MASK: DAZ supported
  std::memcpy(&q, p + 32, 8);  // ST(0) first: physical R7
  EXPECT_EQ(q, 0x8000000000000000ull);
  std::memcpy(&q, p + 160 + 16 * 15 + 8, 8);
  EXPECT_EQ(q, 0x1122334455667788ull);
  EXPECT_EQ(p[416], 0xee);  // bytes 416-511 are not written
  EXPECT_EQ(p[511], 0xee);
  m.ok({0x0f, 0xae, 0x00});  // legacy format: FIP/FCS/FDP/FDS
  std::memcpy(&d, p + 8, 4);
  EXPECT_EQ(d, 0x3456789au);
  std::memcpy(&w, p + 12, 2);
  EXPECT_EQ(w, 0x33);
  std::memcpy(&d, p + 16, 4);
  EXPECT_EQ(d, 0xcdef0123u);
  std::memcpy(&w, p + 20, 2);
  EXPECT_EQ(w, 0x2b);
  // FXRSTOR puts everything back.
  FpuState saved = m.s.fpu;
  m.s.fpu = FpuState{};
  m.ok({0x0f, 0xae, 0x08});
  EXPECT_EQ(std::memcmp(&saved.xmm, &m.s.fpu.xmm, sizeof saved.xmm), 0);
  EXPECT_EQ(m.s.fpu.status_word(), saved.status_word());
  EXPECT_EQ(m.s.fpu.r[7].mant, saved.r[7].mant);
  EXPECT_EQ(m.s.fpu.mxcsr, saved.mxcsr);
  EXPECT_EQ(m.s.fpu.fcs, 0x33);
}

TEST(SseSemantics, WithoutOsfxsrFxsaveLeavesTheSseStateOut) {
  Machine m;
  m.s.cr4 &= ~kCr4OSFXSR;
  m.s.fpu.xmm[0].q[0] = 42;
  std::memset(m.ram.data() + kData, 0xee, 512);
  m.s.regs[RAX] = kData;
  m.ok({0x0f, 0xae, 0x00});
  EXPECT_EQ(m.ram[kData + 160], 0xee);
  EXPECT_EQ(m.ram[kData + 24], 0xee);
  EXPECT_EQ(m.ram[kData], 0x7f);  // FCW written
  m.s.fpu.xmm[0].q[0] = 7;
  m.ok({0x0f, 0xae, 0x08});
  EXPECT_EQ(m.s.fpu.xmm[0].q[0], 7u);
}

}  // namespace
}  // namespace machina::x86::test
