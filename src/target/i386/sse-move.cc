// SSE/SSE2/MMX data movement: MOVAPS/UPS/SS/SD/LPS/HPS/HLPS/LHPS(and the PD forms), MOVNT*,
// MOVMSKPS/PD, MOVD/MOVQ, MOVDQA/DQU, MOVQ2DQ/MOVDQ2Q; unpacks and shuffles of FP lanes,
// PSHUF*, PINSRW/PEXTRW, PMOVMSKB and the byte-masked stores MASKMOVQ/MASKMOVDQU.
#include "target/i386/sse-insn.h"

namespace machina::x86 {

StepResult SseInsn::moves() {
  using namespace sse_host;
  const bool mmx_form =
      pfx_ == kNone && (op_ == 0x6e || op_ == 0x6f || op_ == 0x7e || op_ == 0x7f || op_ == 0xe7);
  StepResult chk = mmx_form ? check_mmx() : check_sse();
  if (chk != StepResult::Ok) return chk;
  const unsigned reg = d_.reg;
  Vec v;
  switch (op_) {
    case 0x10:
    case 0x11: {
      unsigned size = pfx_ == kF3 ? 4 : (pfx_ == kF2 ? 8 : 16);
      if (op_ == 0x10) {
        if (!load_xmm_rm(&v, size, false)) return e_.result_;
        if (size < 16 && !mem()) {  // register MOVSS/MOVSD merge into the destination
          Vec dst = Vec::of(xmm(reg));
          std::memcpy(dst.b, v.b, size);
          v = dst;
        }
        xmm(reg) = v.xmm();
        return StepResult::Ok;
      }
      v = Vec::of(xmm(reg));
      if (size < 16 && !mem()) {
        Vec dst = Vec::of(xmm(d_.rm));
        std::memcpy(dst.b, v.b, size);
        v = dst;
        size = 16;
      }
      return store_xmm_rm(v, size, false) ? StepResult::Ok : e_.result_;
    }
    case 0x12:
    case 0x16: {
      if (pfx_ == kF3 || pfx_ == kF2) return e_.ud();  // MOVSLDUP/MOVSHDUP/MOVDDUP (SSE3)
      if (pfx_ == k66 && !mem()) return e_.ud();
      unsigned half = op_ == 0x12 ? 0 : 1;
      Vec dst = Vec::of(xmm(reg));
      uint64_t q;
      if (mem()) {
        if (!e_.read_buf(e_.ea(), &q, 8)) return e_.result_;
      } else {
        q = Vec::of(xmm(d_.rm)).get<uint64_t>(1 - half);  // MOVHLPS / MOVLHPS
      }
      dst.set<uint64_t>(half, q);
      xmm(reg) = dst.xmm();
      return StepResult::Ok;
    }
    case 0x13:
    case 0x17: {
      if (pfx_ == kF3 || pfx_ == kF2 || !mem()) return e_.ud();
      uint64_t q = Vec::of(xmm(reg)).get<uint64_t>(op_ == 0x13 ? 0 : 1);
      return e_.write_buf(e_.ea(), &q, 8) ? StepResult::Ok : e_.result_;
    }
    case 0x28:
      if (pfx_ == kF3 || pfx_ == kF2) return e_.ud();
      if (!load_xmm_rm(&v, 16, true)) return e_.result_;
      xmm(reg) = v.xmm();
      return StepResult::Ok;
    case 0x29:
    case 0x2b:
      if (pfx_ == kF3 || pfx_ == kF2 || (op_ == 0x2b && !mem())) return e_.ud();
      return store_xmm_rm(Vec::of(xmm(reg)), 16, true) ? StepResult::Ok : e_.result_;
    case 0x50: {
      if (pfx_ == kF3 || pfx_ == kF2 || mem()) return e_.ud();
      v = Vec::of(xmm(d_.rm));
      uint64_t m = 0;
      if (pfx_ == kNone) {
        for (unsigned i = 0; i < 4; i++) m |= (v.get<uint32_t>(i) >> 31) << i;
      } else {
        for (unsigned i = 0; i < 2; i++) m |= (v.get<uint64_t>(i) >> 63) << i;
      }
      e_.set_reg(reg, 8, m);
      return StepResult::Ok;
    }
    case 0x6e: {
      if (pfx_ == kF3 || pfx_ == kF2) return e_.ud();
      unsigned size = (d_.rex & 8) ? 8 : 4;
      uint64_t q;
      if (!load_gpr_rm(&q, size)) return e_.result_;
      if (mmx_form)
        set_mmx(reg, q);
      else
        xmm(reg) = Vec::of64(q).xmm();
      return StepResult::Ok;
    }
    case 0x7e: {
      if (pfx_ == kF2) return e_.ud();
      if (pfx_ == kF3) {  // MOVQ xmm, xmm/m64
        if (!load_xmm_rm(&v, 8, false)) return e_.result_;
        xmm(reg) = Vec::of64(v.lo()).xmm();
        return StepResult::Ok;
      }
      unsigned size = (d_.rex & 8) ? 8 : 4;
      uint64_t q = mmx_form ? mmx(reg) : Vec::of(xmm(reg)).lo();
      if (!e_.write_rm(size, q)) return e_.result_;
      if (mmx_form) enter_mmx();
      return StepResult::Ok;
    }
    case 0x6f:
      if (pfx_ == kF2) return e_.ud();
      if (mmx_form) {
        if (!load_mmx_rm(&v)) return e_.result_;
        set_mmx(reg, v.lo());
        return StepResult::Ok;
      }
      if (!load_xmm_rm(&v, 16, pfx_ == k66)) return e_.result_;
      xmm(reg) = v.xmm();
      return StepResult::Ok;
    case 0x7f:
      if (pfx_ == kF2) return e_.ud();
      if (mmx_form) {
        uint64_t q = mmx(reg);
        if (!mem()) {
          set_mmx(d_.rm, q);
          return StepResult::Ok;
        }
        if (!e_.write_buf(e_.ea(), &q, 8)) return e_.result_;
        enter_mmx();
        return StepResult::Ok;
      }
      return store_xmm_rm(Vec::of(xmm(reg)), 16, pfx_ == k66) ? StepResult::Ok : e_.result_;
    case 0xd6:
      if (pfx_ == k66) {  // MOVQ xmm/m64, xmm
        uint64_t q = Vec::of(xmm(reg)).lo();
        if (!mem()) {
          xmm(d_.rm) = Vec::of64(q).xmm();
          return StepResult::Ok;
        }
        return e_.write_buf(e_.ea(), &q, 8) ? StepResult::Ok : e_.result_;
      }
      if (pfx_ == kNone || mem()) return e_.ud();
      chk = check_mf();
      if (chk != StepResult::Ok) return chk;
      if (pfx_ == kF3)  // MOVQ2DQ xmm, mm
        xmm(reg) = Vec::of64(mmx(d_.rm)).xmm();
      else  // MOVDQ2Q mm, xmm
        set_mmx(reg, Vec::of(xmm(d_.rm)).lo());
      enter_mmx();
      return StepResult::Ok;
    case 0xe7: {
      if (pfx_ == kF3 || pfx_ == kF2 || !mem()) return e_.ud();
      if (mmx_form) {
        uint64_t q = mmx(reg);
        if (!e_.write_buf(e_.ea(), &q, 8)) return e_.result_;
        enter_mmx();
        return StepResult::Ok;
      }
      return store_xmm_rm(Vec::of(xmm(reg)), 16, true) ? StepResult::Ok : e_.result_;
    }
  }
  return e_.ud();
}

StepResult SseInsn::shuffles() {
  using namespace sse_host;
  const bool mmx_form = pfx_ == kNone && op_ != 0x14 && op_ != 0x15 && op_ != 0xc6;
  if (!mmx_form && pfx_ != k66 && !(op_ == 0x70 || op_ == 0x14 || op_ == 0x15 || op_ == 0xc6))
    return e_.ud();
  if ((op_ == 0x14 || op_ == 0x15 || op_ == 0xc6) && (pfx_ == kF3 || pfx_ == kF2)) return e_.ud();
  StepResult chk = mmx_form ? check_mmx() : check_sse();
  if (chk != StepResult::Ok) return chk;
  const unsigned n = mmx_form ? 8 : 16;
  const unsigned imm = d_.imm & 0xff;
  const unsigned reg = d_.reg;
  Vec d = mmx_form ? Vec::of64(mmx(reg)) : Vec::of(xmm(reg));
  Vec s, r;
  auto finish = [&](const Vec& res) {
    if (mmx_form)
      set_mmx(reg, res.lo());
    else
      xmm(reg) = res.xmm();
    return StepResult::Ok;
  };
  switch (op_) {
    case 0x14:
    case 0x15:
      if (!load_xmm_rm(&s, 16, true)) return e_.result_;
      return finish(sse_unpack(d, s, pfx_ == k66 ? 8 : 4, op_ == 0x15, 16));
    case 0xc6:
      if (!load_xmm_rm(&s, 16, true)) return e_.result_;
      if (pfx_ == kNone) {
        r.set<uint32_t>(0, d.get<uint32_t>(imm & 3));
        r.set<uint32_t>(1, d.get<uint32_t>((imm >> 2) & 3));
        r.set<uint32_t>(2, s.get<uint32_t>((imm >> 4) & 3));
        r.set<uint32_t>(3, s.get<uint32_t>((imm >> 6) & 3));
      } else {
        r.set<uint64_t>(0, d.get<uint64_t>(imm & 1));
        r.set<uint64_t>(1, s.get<uint64_t>((imm >> 1) & 1));
      }
      return finish(r);
    case 0x70:
      if (mmx_form) {
        if (!load_mmx_rm(&s)) return e_.result_;
        for (unsigned i = 0; i < 4; i++) r.set<uint16_t>(i, s.get<uint16_t>((imm >> (2 * i)) & 3));
        return finish(r);
      }
      if (!load_xmm_rm(&s, 16, true)) return e_.result_;
      if (pfx_ == k66) {  // PSHUFD
        for (unsigned i = 0; i < 4; i++) r.set<uint32_t>(i, s.get<uint32_t>((imm >> (2 * i)) & 3));
      } else {  // PSHUFHW (F3) / PSHUFLW (F2): one half shuffled, the other copied
        r = s;
        unsigned base = pfx_ == kF3 ? 4 : 0;
        for (unsigned i = 0; i < 4; i++)
          r.set<uint16_t>(base + i, s.get<uint16_t>(base + ((imm >> (2 * i)) & 3)));
      }
      return finish(r);
    case 0xc4: {
      uint64_t w;
      if (mem()) {
        if (!e_.read_mem(e_.ea(), 2, &w)) return e_.result_;
      } else {
        w = e_.get_reg(d_.rm, 4);
      }
      d.set<uint16_t>(imm & (n / 2 - 1), static_cast<uint16_t>(w));
      return finish(d);
    }
    case 0xc5:
      if (mem()) return e_.ud();
      s = mmx_form ? Vec::of64(mmx(d_.rm)) : Vec::of(xmm(d_.rm));
      e_.set_reg(reg, 8, s.get<uint16_t>(imm & (n / 2 - 1)));
      if (mmx_form) enter_mmx();
      return StepResult::Ok;
    case 0xd7: {
      if (mem()) return e_.ud();
      s = mmx_form ? Vec::of64(mmx(d_.rm)) : Vec::of(xmm(d_.rm));
      uint64_t m = 0;
      for (unsigned i = 0; i < n; i++) m |= static_cast<uint64_t>(s.b[i] >> 7) << i;
      e_.set_reg(reg, 8, m);
      if (mmx_form) enter_mmx();
      return StepResult::Ok;
    }
    case 0xf7: {  // MASKMOVQ / MASKMOVDQU: bytes of reg where the mask byte's MSB is set
      if (mem()) return e_.ud();
      Vec mask = mmx_form ? Vec::of64(mmx(d_.rm)) : Vec::of(xmm(d_.rm));
      uint64_t addr = e_.linear(e_.get_reg(RDI, d_.addrsize), d_.seg);
      for (unsigned i = 0; i < n; i++) {
        if (!(mask.b[i] & 0x80)) continue;
        // Runs of selected bytes are written with one access each.
        unsigned j = i;
        while (j < n && (mask.b[j] & 0x80)) j++;
        if (!e_.write_buf(addr + i, d.b + i, j - i)) return e_.result_;
        i = j - 1;
      }
      if (mmx_form) enter_mmx();
      return StepResult::Ok;
    }
  }
  return e_.ud();
}

}  // namespace machina::x86
