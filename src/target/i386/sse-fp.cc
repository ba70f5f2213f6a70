// SSE/SSE2 floating point: arithmetic, square root, reciprocal approximations, min/max, compares
// (CMPcc, COMIS, UCOMIS), logic on FP lanes and every conversion (CVT*, CVTT*), including the
// MMX-register forms. The arithmetic itself runs on the host's SSE unit (sse-host.h); this file
// picks operands, applies MXCSR flags and raises #XM for unmasked exceptions.
#include "target/i386/sse-insn.h"

namespace machina::x86 {

namespace {

// Memory operand size of the FP forms of 51-5F/C2 by prefix: ps, pd, ss, sd.
constexpr unsigned kArithSize[4] = {16, 16, 4, 8};

}  // namespace

// The exception flags of the arithmetic forms (ADD/SUB/MUL/DIV, CVTPD2PS/CVTSD2SS) when an
// underflow may be unmasked: a tiny result then signals it even when exact (flush-to-zero
// reveals every tiny one). Each element is computed alone, the others replaced by 1.0, which
// raises nothing. Approximation: with overflow or underflow unmasked, the hardware sets PE when
// the result rounded with an unbounded exponent is inexact; here PE is that of the masked
// result (the same for most operands, not for all).
uint32_t SseInsn::lane_flags(const XmmReg& src) {
  using namespace sse_host;
  const uint32_t masks = (e_.s_.fpu.mxcsr >> 7) & kMxcsrFlags;
  const bool dbl = pfx_ == k66 || pfx_ == kF2;
  const unsigned lanes = pfx_ == kNone ? 4 : (pfx_ == k66 ? 2 : 1);
  const unsigned w = dbl ? 8 : 4;
  const uint64_t one = dbl ? 0x3ff0000000000000ull : 0x3f800000u;
  uint32_t flags = 0;
  bool ok;
  for (unsigned i = 0; i < lanes; i++) {
    Vec d = Vec::of(xmm(d_.reg)), s = Vec::of(src);
    for (unsigned j = 0; j < 16 / w; j++) {
      if (j == i) continue;
      std::memcpy(d.b + j * w, &one, w);
      std::memcpy(s.b + j * w, &one, w);
    }
    XmmReg r = d.xmm();
    uint32_t f = fp_op(op_, pfx_, &r, s.xmm(), 0, host_csr(), &ok) & kMxcsrFlags;
    if (!(masks & kFswUE) && !(f & kFswUE)) {
      r = d.xmm();
      if (fp_op(op_, pfx_, &r, s.xmm(), 0, host_csr() | kMxcsrFTZ, &ok) & kFswUE) f |= kFswUE;
    }
    flags |= f;
  }
  return flags;
}

StepResult SseInsn::fp() {
  using namespace sse_host;
  const unsigned reg = d_.reg;
  const unsigned p = pfx_;
  // Forms that read or write an MMX register (CVTPI2PS/PD from a register, CVT(T)PS2PI,
  // CVT(T)PD2PI) make the MMX checks and transition too.
  const bool to_mmx = (op_ == 0x2c || op_ == 0x2d) && (p == kNone || p == k66);
  const bool from_mmx = op_ == 0x2a && (p == kNone || p == k66) && !mem();
  if ((op_ == 0x2e || op_ == 0x2f || (op_ >= 0x54 && op_ <= 0x57)) && p >= kF3) return e_.ud();
  if ((op_ == 0x52 || op_ == 0x53) && (p == k66 || p == kF2)) return e_.ud();
  if ((op_ == 0x5b && p == kF2) || (op_ == 0xe6 && p == kNone)) return e_.ud();
  StepResult chk = check_sse();
  if (chk == StepResult::Ok && (to_mmx || from_mmx)) chk = check_mf();
  if (chk != StepResult::Ok) return chk;

  Vec s;
  XmmReg dst = xmm(reg);
  bool ok = true;
  switch (op_) {
    case 0x54 ... 0x57: {  // ANDPS/ANDNPS/ORPS/XORPS and the PD forms
      if (!load_xmm_rm(&s, 16, true)) return e_.result_;
      Vec d = Vec::of(dst);
      static const unsigned kIntOp[4] = {0xdb, 0xdf, 0xeb, 0xef};
      sse_int_op(kIntOp[op_ - 0x54], &d, s, 16);
      xmm(reg) = d.xmm();
      return StepResult::Ok;
    }
    case 0x2e:
    case 0x2f: {
      if (!load_xmm_rm(&s, p == k66 ? 8 : 4, false)) return e_.result_;
      uint64_t zpc;
      uint32_t out = comis(p == k66, op_ == 0x2f, dst, s.xmm(), &zpc, host_csr());
      if (!fp_flags(out)) return e_.result_;
      e_.s_.set_arith_flags(zpc, kArithFlags);
      return StepResult::Ok;
    }
    case 0x2a: {
      if (p == kF3 || p == kF2) {  // CVTSI2SS / CVTSI2SD
        bool w = d_.rex & 8;
        uint64_t v;
        if (!load_gpr_rm(&v, w ? 8 : 4)) return e_.result_;
        uint32_t out = cvt_from_int(pfx_, w, &dst, v, host_csr());
        if (!fp_flags(out)) return e_.result_;
        xmm(reg) = dst;
        return StepResult::Ok;
      }
      if (!load_mmx_rm(&s)) return e_.result_;
      // The MMX transition happens even when the conversion then faults (#XM).
      if (from_mmx) enter_mmx();
      XmmReg src = Vec::of64(s.lo()).xmm();
      if (p == kNone) {  // CVTPI2PS: CVTDQ2PS of two lanes, the high half kept
        XmmReg tmp = dst;
        uint32_t out = fp_op(0x5b, kNone, &tmp, src, 0, host_csr(), &ok);
        if (!fp_flags(out)) return e_.result_;
        dst.q[0] = tmp.q[0];
      } else {  // CVTPI2PD: exact
        fp_op(0xe6, kF3, &dst, src, 0, host_csr(), &ok);
      }
      xmm(reg) = dst;
      return StepResult::Ok;
    }
    case 0x2c:
    case 0x2d: {
      bool truncate = op_ == 0x2c;
      if (p == kF3 || p == kF2) {  // CVT(T)SS2SI / CVT(T)SD2SI
        if (!load_xmm_rm(&s, p == kF3 ? 4 : 8, false)) return e_.result_;
        bool w = d_.rex & 8;
        uint64_t v;
        uint32_t out = cvt_to_int(pfx_, truncate, w, s.xmm(), &v, host_csr());
        if (!fp_flags(out)) return e_.result_;
        e_.set_reg(reg, w ? 8 : 4, v);
        return StepResult::Ok;
      }
      // CVT(T)PS2PI from xmm/m64, CVT(T)PD2PI from xmm/m128: the packed dword conversion.
      if (!load_xmm_rm(&s, p == kNone ? 8 : 16, true)) return e_.result_;
      enter_mmx();
      XmmReg src = s.xmm(), tmp{};
      if (p == kNone) src.q[1] = 0;
      uint32_t out = p == kNone ? fp_op(0x5b, truncate ? kF3 : k66, &tmp, src, 0, host_csr(), &ok)
                                : fp_op(0xe6, truncate ? k66 : kF2, &tmp, src, 0, host_csr(), &ok);
      if (!fp_flags(out)) return e_.result_;
      set_mmx(reg, tmp.q[0]);
      return StepResult::Ok;
    }
  }
  // 51-53, 58-5F, C2, E6: one host instruction, xmm = xmm OP xmm/mem.
  unsigned size = kArithSize[p];
  if (op_ == 0x5a && p == kNone) size = 8;  // CVTPS2PD xmm, xmm/m64
  if (op_ == 0x5b) size = 16;
  if (op_ == 0xe6) size = p == kF3 ? 8 : 16;  // CVTDQ2PD reads m64, the PD forms m128
  if (!load_xmm_rm(&s, size, true)) return e_.result_;
  uint32_t out = fp_op(op_, pfx_, &dst, s.xmm(), d_.imm & 0xff, host_csr(), &ok);
  if (!ok) return e_.ud();
  const uint32_t csr = e_.s_.fpu.mxcsr, masks = (csr >> 7) & kMxcsrFlags;
  const bool may_underflow =
      (op_ >= 0x58 && op_ <= 0x5e && op_ != 0x5a && op_ != 0x5b && op_ != 0x5d) ||
      (op_ == 0x5a && (p == k66 || p == kF2));
  if (may_underflow && !(out & 7 & ~masks) && !(masks & kFswUE))
    out = (out & ~kMxcsrFlags) | lane_flags(s.xmm());
  if (!fp_flags(out)) return e_.result_;
  xmm(reg) = dst;
  return StepResult::Ok;
}

}  // namespace machina::x86
