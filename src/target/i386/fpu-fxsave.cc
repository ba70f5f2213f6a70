// The 0F AE group: FXSAVE/FXRSTOR (512-byte image; 64-bit FIP/FDP with REX.W, FIP/FCS/FDP/FDS
// otherwise), LDMXCSR/STMXCSR, LFENCE/MFENCE/SFENCE and CLFLUSH. XSAVE and the later members
// of the group are not advertised and raise #UD.
#include <cstring>

#include "target/i386/fpu-insn.h"

namespace machina::x86 {

namespace {

// FXSAVE writes bytes 0-415 of its area (416-511 are left to software).
constexpr unsigned kFxImageUsed = 416;

StepResult fxsave(Exec& e, uint64_t addr) {
  const FpuState& f = e.s_.fpu;
  uint8_t img[kFxImageUsed] = {};
  uint16_t sw = f.status_word();
  std::memcpy(img + 0, &f.fcw, 2);
  std::memcpy(img + 2, &sw, 2);
  img[4] = f.ftw;
  std::memcpy(img + 6, &f.fop, 2);
  if (e.d_.rex & 8) {
    std::memcpy(img + 8, &f.fip, 8);
    std::memcpy(img + 16, &f.fdp, 8);
  } else {
    uint32_t ip = static_cast<uint32_t>(f.fip), dp = static_cast<uint32_t>(f.fdp);
    std::memcpy(img + 8, &ip, 4);
    std::memcpy(img + 12, &f.fcs, 2);
    std::memcpy(img + 16, &dp, 4);
    std::memcpy(img + 20, &f.fds, 2);
  }
  for (unsigned k = 0; k < 8; k++) {
    const X87Reg& x = f.r[(f.top + k) & 7];
    std::memcpy(img + 32 + 16 * k, &x.mant, 8);
    std::memcpy(img + 40 + 16 * k, &x.sign_exp, 2);
  }
  if (e.s_.cr4 & kCr4OSFXSR) {
    std::memcpy(img + 24, &f.mxcsr, 4);
    std::memcpy(img + 28, &kMxcsrMask, 4);
    std::memcpy(img + 160, f.xmm, sizeof f.xmm);
    return e.write_buf(addr, img, kFxImageUsed) ? StepResult::Ok : e.result_;
  }
  // Without CR4.OSFXSR the SSE part (MXCSR, XMM registers) is neither saved nor restored.
  if (!e.write_buf(addr, img, 24) || !e.write_buf(addr + 32, img + 32, 128)) return e.result_;
  return StepResult::Ok;
}

StepResult fxrstor(Exec& e, uint64_t addr) {
  FpuState& f = e.s_.fpu;
  uint8_t img[kFxImageUsed];
  if (!e.read_buf(addr, img, kFxImageUsed)) return e.result_;
  const bool sse = e.s_.cr4 & kCr4OSFXSR;
  uint32_t mxcsr;
  std::memcpy(&mxcsr, img + 24, 4);
  if (sse && (mxcsr & ~kMxcsrMask)) return e.gp(0);
  uint16_t cw, sw;
  std::memcpy(&cw, img + 0, 2);
  std::memcpy(&sw, img + 2, 2);
  f.fcw = static_cast<uint16_t>((cw & 0x1f3f) | 0x40);
  f.set_status_word(sw);
  f.ftw = img[4];
  std::memcpy(&f.fop, img + 6, 2);
  f.fop &= 0x7ff;
  if (e.d_.rex & 8) {
    std::memcpy(&f.fip, img + 8, 8);
    std::memcpy(&f.fdp, img + 16, 8);
  } else {
    uint32_t ip, dp;
    std::memcpy(&ip, img + 8, 4);
    std::memcpy(&f.fcs, img + 12, 2);
    std::memcpy(&dp, img + 16, 4);
    std::memcpy(&f.fds, img + 20, 2);
    f.fip = ip;
    f.fdp = dp;
  }
  for (unsigned k = 0; k < 8; k++) {
    X87Reg& x = f.r[(f.top + k) & 7];
    std::memcpy(&x.mant, img + 32 + 16 * k, 8);
    std::memcpy(&x.sign_exp, img + 40 + 16 * k, 2);
  }
  x87_update_es(&f);
  if (sse) {
    f.mxcsr = mxcsr;
    std::memcpy(f.xmm, img + 160, sizeof f.xmm);
  }
  return StepResult::Ok;
}

}  // namespace

StepResult Exec::group15() {
  const unsigned r = d_.reg & 7;
  if (d_.mod == 3) {
    // LFENCE, MFENCE, SFENCE: the interpreter's accesses are already in program order.
    if (d_.opsize_prefix || d_.rep || d_.repne || r < 5) return ud();
    return StepResult::Ok;
  }
  // F3/F2 forms (PTWRITE, ...) and 66 forms (CLWB, CLFLUSHOPT) are not advertised.
  if (d_.rep || d_.repne || (d_.opsize_prefix && r >= 6)) return ud();
  const uint64_t addr = ea();
  switch (r) {
    case 0:
    case 1:
      if (s_.cr0 & (kCr0EM | kCr0TS)) return raise(kExcNM);
      if (addr & 15) return gp(0);
      return r == 0 ? fxsave(*this, addr) : fxrstor(*this, addr);
    case 2:
    case 3: {
      if ((s_.cr0 & kCr0EM) || !(s_.cr4 & kCr4OSFXSR)) return ud();
      if (s_.cr0 & kCr0TS) return raise(kExcNM);
      if (r == 3) return write_mem(addr, 4, s_.fpu.mxcsr) ? StepResult::Ok : result_;
      uint64_t v;
      if (!read_mem(addr, 4, &v)) return result_;
      if (v & ~static_cast<uint64_t>(kMxcsrMask)) return gp(0);
      s_.fpu.mxcsr = static_cast<uint32_t>(v);
      return StepResult::Ok;
    }
    case 7: {  // CLFLUSH: no caches, but the access is checked like a read
      uint8_t b;
      return read_buf(addr, &b, 1) ? StepResult::Ok : result_;
    }
    default:  // XSAVE, XRSTOR, XSAVEOPT
      return ud();
  }
}

}  // namespace machina::x86
