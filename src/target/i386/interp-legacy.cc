// Instructions that exist in 16- and 32-bit code segments only (real, protected and
// compatibility mode): PUSH/POP of ES, CS, SS and DS, the one-byte INC/DEC, PUSHA/POPA, far
// CALL/JMP to a pointer, INTO, AAM/AAD, SALC, and the BCD adjustments; and far JMP/CALL, which
// 64-bit mode has in its memory form.
#include "target/i386/excp.h"
#include "target/i386/exec.h"
#include "target/i386/seg.h"

namespace machina::x86 {

StepResult Exec::far_jump(uint16_t sel, uint64_t offset, bool call) {
  unsigned sz = d_.opsize;
  if (!d_.legacy && sz == 4) offset &= 0xffffffffu;
  uint16_t old_cs = s_.seg[CS].selector;
  uint64_t old_sp = s_.regs[RSP];
  if (call && (!push(old_cs, stack_opsize()) || !push(next_rip_, stack_opsize()))) {
    s_.regs[RSP] = old_sp;
    return result_;
  }
  if (!(s_.cr0 & kCr0PE) || (s_.flags_other & kVM)) {
    load_real_mode_segment(s_, CS, sel);
  } else {
    SegmentCache saved = s_.seg[CS];
    if (!load_far_code_segment(s_, m_, sel)) {
      s_.seg[CS] = saved;
      s_.regs[RSP] = old_sp;
      return StepResult::Exception;
    }
  }
  next_rip_ = sz == 2 ? offset & 0xffff : offset;
  return StepResult::Ok;
}

StepResult Exec::legacy_op() {
  unsigned op = d_.opcode;
  unsigned size = d_.opsize;
  uint64_t v;
  switch (op) {
    case 0x06:
    case 0x0e:
    case 0x16:
    case 0x1e:  // PUSH ES/CS/SS/DS
      return push(s_.seg[op >> 3].selector, size) ? StepResult::Ok : result_;
    case 0x07:
    case 0x17:
    case 0x1f:  // POP ES/SS/DS
      return pop_sreg(op >> 3);
    case 0x40 ... 0x4f: {  // INC/DEC r16/r32
      unsigned r = op & 7;
      bool dec = op & 8;
      uint64_t a = get_reg(r, size);
      uint64_t old_cf = s_.cf() ? kCF : 0;
      uint64_t res = (dec ? a - 1 : a + 1) & mask_of(size);
      set_reg(r, size, res);
      set_cc(dec ? CcOp::Dec : CcOp::Inc, size, a, 1, res, old_cf);
      return StepResult::Ok;
    }
    case 0x60: {  // PUSHA/PUSHAD
      uint64_t old_sp = s_.regs[RSP];
      uint64_t sp_value = get_reg(RSP, size);
      for (unsigned r = RAX; r <= RDI; r++) {
        if (!push(r == RSP ? sp_value : get_reg(r, size), size)) {
          s_.regs[RSP] = old_sp;
          return result_;
        }
      }
      return StepResult::Ok;
    }
    case 0x61: {  // POPA/POPAD (the saved SP is skipped)
      uint64_t old_sp = s_.regs[RSP];
      uint64_t vals[8];
      for (int r = RDI; r >= RAX; r--) {
        if (!pop(&vals[r], size)) {
          s_.regs[RSP] = old_sp;
          return result_;
        }
      }
      for (unsigned r = RAX; r <= RDI; r++)
        if (r != RSP) set_reg(r, size, vals[r]);
      return StepResult::Ok;
    }
    case 0x9a:  // CALL ptr16:16/32
    case 0xea:  // JMP ptr16:16/32
      return far_jump(d_.sel, d_.imm, op == 0x9a);
    case 0xce:  // INTO
      if (!(s_.arith_flags() & kOF)) return StepResult::Ok;
      return int_n(kExcOF);
    case 0xd4: {  // AAM imm8
      unsigned base = d_.imm & 0xff;
      if (base == 0) return StepResult::DivideError;
      unsigned al = get_reg(RAX, 1);
      unsigned r = ((al / base) << 8) | (al % base);
      set_reg(RAX, 2, r);
      s_.set_arith_flags(szp_flags(r & 0xff, 1), kArithFlags);
      return StepResult::Ok;
    }
    case 0xd5: {  // AAD imm8
      unsigned ax = get_reg(RAX, 2);
      unsigned al = ((ax & 0xff) + (ax >> 8) * (d_.imm & 0xff)) & 0xff;
      set_reg(RAX, 2, al);
      s_.set_arith_flags(szp_flags(al, 1), kArithFlags);
      return StepResult::Ok;
    }
    case 0xd6:  // SALC
      set_reg(RAX, 1, s_.cf() ? 0xff : 0);
      return StepResult::Ok;
    case 0x82:  // an alias of 0x80 (group 1, byte operands)
      return one_byte();
    case 0x63:  // ARPL: not implemented
      return ud();
    case 0x27:    // DAA
    case 0x2f: {  // DAS
      uint64_t f = s_.arith_flags();
      unsigned al = get_reg(RAX, 1), old_al = al;
      bool cf = f & kCF, af = false;
      bool sub = op == 0x2f;
      if ((al & 0xf) > 9 || (f & kAF)) {
        al = (sub ? al - 6 : al + 6) & 0xff;
        af = true;
      }
      if (old_al > 0x99 || cf) {
        al = (sub ? al - 0x60 : al + 0x60) & 0xff;
        cf = true;
      }
      set_reg(RAX, 1, al);
      s_.set_arith_flags(szp_flags(al, 1) | (cf ? kCF : 0) | (af ? kAF : 0), kArithFlags);
      return StepResult::Ok;
    }
    case 0x37:    // AAA
    case 0x3f: {  // AAS
      uint64_t f = s_.arith_flags();
      unsigned ax = get_reg(RAX, 2);
      bool adjust = (ax & 0xf) > 9 || (f & kAF);
      if (adjust) {
        if (op == 0x37)
          ax = (ax + 0x106) & 0xffff;
        else
          ax = ((ax - 6) & 0xff) | (((ax >> 8) - 1) & 0xff) << 8;
      }
      set_reg(RAX, 2, ax & 0xff0f);
      s_.set_arith_flags((f & (kPF | kZF | kSF | kOF)) | (adjust ? kCF | kAF : 0), kArithFlags);
      return StepResult::Ok;
    }
    case 0x62:  // BOUND
    case 0xc4:  // LES
    case 0xc5:  // LDS
      if (d_.mod == 3) return ud();
      if (op == 0x62) {
        uint64_t lo, hi;
        uint64_t addr = ea();
        if (!read_mem(addr, size, &lo) || !read_mem((addr + size) & 0xffffffffu, size, &hi))
          return result_;
        int64_t idx = sext(get_reg(d_.reg, size), size);
        if (idx < sext(lo, size) || idx > sext(hi, size)) return raise(kExcBR);
        return StepResult::Ok;
      } else {
        uint64_t off, sel;
        uint64_t addr = ea();
        if (!read_mem(addr, size, &off) || !read_mem((addr + size) & 0xffffffffu, 2, &v))
          return result_;
        sel = v;
        if (!load_data_segment(s_, m_, op == 0xc4 ? ES : DS, static_cast<uint16_t>(sel)))
          return (fault(), result_);
        set_reg(d_.reg, size, off);
        return StepResult::Ok;
      }
  }
  return ud();
}

}  // namespace machina::x86
