// One-byte-map instructions beyond the integer core: string and I/O dispatch, segment register
// moves, RFLAGS moves, moffs moves, ENTER, far returns, software interrupts, IRET, XLAT, LOOP,
// x87 escape, FWAIT; and CMPXCHG8B/CMPXCHG16B.
#include "target/i386/exec.h"

namespace machina::x86 {

StepResult Exec::one_byte_misc() {
  unsigned op = d_.opcode;
  switch (op) {
    case 0x6c ... 0x6f:
    case 0xa4 ... 0xa7:
    case 0xaa ... 0xaf:
      return string_op();
    case 0x8c:
      return mov_sreg_store();
    case 0x8e:
      return mov_sreg_load();
    case 0x9b:  // FWAIT: #NM when MP and TS are set, #MF for a pending unmasked x87 error
      if ((s_.cr0 & (kCr0MP | kCr0TS)) == (kCr0MP | kCr0TS)) return raise(kExcNM);
      if ((s_.fpu.fsw & 0x80) && (s_.cr0 & kCr0NE)) return raise(kExcMF);
      return StepResult::Ok;
    case 0x9c:
      return pushf();
    case 0x9d:
      return popf();
    case 0x9e:  // SAHF
      s_.set_arith_flags(get_reg(RAX, 2) >> 8, kCF | kPF | kAF | kZF | kSF);
      return StepResult::Ok;
    case 0x9f:  // LAHF
      set_reg(RAX, 2, (get_reg(RAX, 2) & 0xff) | (((s_.arith_flags() & 0xd5) | 2) << 8));
      return StepResult::Ok;
    case 0xa0 ... 0xa3: {  // MOV AL/rAX <-> moffs
      unsigned sz = byte_or_op(op);
      uint64_t addr = linear(d_.imm, d_.seg);
      if (op < 0xa2) {
        uint64_t v;
        if (!read_mem(addr, sz, &v)) return result_;
        set_reg(RAX, sz, v);
        return StepResult::Ok;
      }
      return write_mem(addr, sz, get_reg(RAX, sz)) ? StepResult::Ok : result_;
    }
    case 0xc8: {  // ENTER imm16, imm8
      unsigned sz = stack_opsize();
      unsigned level = d_.imm2 & 31;
      uint64_t smask = mask_of(stack_addrsize());
      uint64_t rbp = s_.regs[RBP] & smask, sp = stack_pointer();
      uint64_t frame = (sp - sz) & smask;
      if (!write_mem(stack_linear(frame), sz, rbp)) return result_;
      uint64_t cur = frame;
      for (unsigned i = 1; i < level; i++) {
        uint64_t v;
        if (!read_mem(stack_linear(rbp - i * sz), sz, &v)) return result_;
        cur = (cur - sz) & smask;
        if (!write_mem(stack_linear(cur), sz, v)) return result_;
      }
      if (level) {
        cur = (cur - sz) & smask;
        if (!write_mem(stack_linear(cur), sz, frame)) return result_;
      }
      set_reg(RBP, sz, frame);
      set_stack_pointer(cur - d_.imm);
      return StepResult::Ok;
    }
    case 0xca:
    case 0xcb:
      return far_return(op == 0xca);
    case 0xcc:
      return int_n(kExcBP);
    case 0xcd:
      return int_n(static_cast<uint8_t>(d_.imm));
    case 0xcf:
      return iret();
    case 0xd7: {  // XLAT
      uint64_t addr = (s_.regs[RBX] + get_reg(RAX, 1)) & mask_of(d_.addrsize);
      uint64_t v;
      if (!read_mem(linear(addr, d_.seg), 1, &v)) return result_;
      set_reg(RAX, 1, v);
      return StepResult::Ok;
    }
    case 0xd8 ... 0xdf:
      return x87_op();
    case 0xe0 ... 0xe3: {  // LOOPNE, LOOPE, LOOP, JrCXZ
      uint64_t cmask = mask_of(d_.addrsize);
      uint64_t c = s_.regs[RCX] & cmask;
      bool take;
      if (op == 0xe3) {
        take = c == 0;
      } else {
        c = (c - 1) & cmask;
        set_reg(RCX, d_.addrsize, c);
        take = c != 0;
        if (op == 0xe0) take = take && !(s_.arith_flags() & kZF);
        if (op == 0xe1) take = take && (s_.arith_flags() & kZF);
      }
      if (take) next_rip_ += d_.imm;
      return StepResult::Ok;
    }
    case 0xe4 ... 0xe7:
    case 0xec ... 0xef:
      return in_out();
    case 0xf1:  // INT1 (ICEBP): a #DB trap
      s_.exc = {true, kExcDB, false, 0};
      s_.rip = next_rip_;
      return StepResult::Exception;
  }
  return ud();
}

StepResult Exec::cmpxchg_wide() {
  bool wide = d_.opsize == 8;  // REX.W: CMPXCHG16B
  uint64_t addr = ea();
  if (wide && (addr & 15)) return gp();
  if (wide) {
    uint64_t cur[2];
    if (!read_buf(addr, cur, 16)) return result_;
    bool eq = cur[0] == s_.regs[RAX] && cur[1] == s_.regs[RDX];
    uint64_t nv[2] = {s_.regs[RBX], s_.regs[RCX]};
    if (!write_buf(addr, eq ? nv : cur, 16)) return result_;
    if (!eq) {
      s_.regs[RAX] = cur[0];
      s_.regs[RDX] = cur[1];
    }
    s_.set_arith_flags(eq ? kZF : 0, kZF);
    return StepResult::Ok;
  }
  uint64_t cur;
  if (!read_mem(addr, 8, &cur)) return result_;
  uint64_t expect = (s_.regs[RAX] & 0xffffffffu) | (s_.regs[RDX] << 32);
  bool eq = cur == expect;
  uint64_t nv = (s_.regs[RBX] & 0xffffffffu) | (s_.regs[RCX] << 32);
  if (!write_mem(addr, 8, eq ? nv : cur)) return result_;
  if (!eq) {
    set_reg(RAX, 4, cur & 0xffffffffu);
    set_reg(RDX, 4, cur >> 32);
  }
  s_.set_arith_flags(eq ? kZF : 0, kZF);
  return StepResult::Ok;
}

}  // namespace machina::x86
