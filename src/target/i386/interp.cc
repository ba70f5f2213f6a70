// x86-64 interpreter for user-mode integer instructions.
#include "target/i386/interp.h"

#include "target/i386/exec.h"

namespace machina::x86 {

uint64_t szp_flags(uint64_t r, unsigned size) {
  r &= mask_of(size);
  uint64_t f = 0;
  if (r == 0) f |= kZF;
  if (msb(r, size)) f |= kSF;
  if (!(__builtin_popcount(static_cast<unsigned>(r & 0xff)) & 1)) f |= kPF;
  return f;
}

bool Exec::cond(unsigned cc) const {
  return condition_holds(s_.arith_flags(), cc);
}

uint64_t Exec::alu(unsigned op, uint64_t a, uint64_t b, unsigned size) {
  uint64_t m = mask_of(size);
  a &= m;
  b &= m;
  uint64_t r, cin;
  switch (op) {
    case 0:
      r = (a + b) & m;
      set_cc(CcOp::Add, size, a, b, r, 0);
      return r;
    case 1:
      r = a | b;
      set_cc(CcOp::Logic, size, a, b, r, 0);
      return r;
    case 2:
      cin = s_.cf();
      r = (a + b + cin) & m;
      set_cc(CcOp::Add, size, a, b, r, cin);
      return r;
    case 3:
      cin = s_.cf();
      r = (a - b - cin) & m;
      set_cc(CcOp::Sub, size, a, b, r, cin);
      return r;
    case 4:
      r = a & b;
      set_cc(CcOp::Logic, size, a, b, r, 0);
      return r;
    case 6:
      r = a ^ b;
      set_cc(CcOp::Logic, size, a, b, r, 0);
      return r;
    default:  // SUB, CMP
      r = (a - b) & m;
      set_cc(CcOp::Sub, size, a, b, r, 0);
      return op == 7 ? a : r;
  }
}

uint64_t Exec::shift(unsigned op, uint64_t v, unsigned count, unsigned size) {
  unsigned bits = size * 8;
  uint64_t m = mask_of(size);
  unsigned cnt = count & (size == 8 ? 63 : 31);
  v &= m;
  if (cnt == 0) return v;
  uint64_t f = s_.arith_flags();
  uint64_t r = v, cf = 0, of = 0;
  uint64_t keep = kPF | kAF | kZF | kSF;  // flags rotates leave alone
  switch (op) {
    case 0: {  // ROL
      unsigned n = cnt % bits;
      if (n) r = ((v << n) | (v >> (bits - n))) & m;
      cf = r & 1;
      of = msb(r, size) ^ cf;
      break;
    }
    case 1: {  // ROR
      unsigned n = cnt % bits;
      if (n) r = ((v >> n) | (v << (bits - n))) & m;
      cf = msb(r, size);
      of = cf ^ ((r >> (bits - 2)) & 1);
      break;
    }
    case 2: {  // RCL
      unsigned n = cnt % (bits + 1);
      uint64_t c = (f & kCF) ? 1 : 0;
      for (unsigned i = 0; i < n; i++) {
        uint64_t nc = msb(r, size);
        r = ((r << 1) | c) & m;
        c = nc;
      }
      cf = c;
      of = msb(r, size) ^ cf;
      break;
    }
    case 3: {  // RCR
      unsigned n = cnt % (bits + 1);
      uint64_t c = (f & kCF) ? 1 : 0;
      of = msb(v, size) ^ c;
      for (unsigned i = 0; i < n; i++) {
        uint64_t nc = r & 1;
        r = (r >> 1) | (c << (bits - 1));
        c = nc;
      }
      cf = c;
      break;
    }
    case 4:
    case 6:  // SHL/SAL
      r = cnt < bits ? (v << cnt) & m : 0;
      cf = cnt <= bits ? (v >> (bits - cnt)) & 1 : 0;
      of = msb(r, size) ^ cf;
      keep = 0;
      break;
    case 5:  // SHR
      r = cnt < bits ? v >> cnt : 0;
      cf = cnt <= bits ? (v >> (cnt - 1)) & 1 : 0;
      of = msb(v, size);
      keep = 0;
      break;
    default: {  // SAR
      int64_t sv = sext(v, size);
      r = static_cast<uint64_t>(sv >> (cnt >= bits ? bits - 1 : cnt)) & m;
      cf = static_cast<uint64_t>(sv >> (cnt - 1 >= bits ? bits - 1 : cnt - 1)) & 1;
      of = 0;
      keep = 0;
      break;
    }
  }
  uint64_t nf = (f & keep) | (cf ? kCF : 0) | (of ? kOF : 0);
  if (!keep) nf |= szp_flags(r, size);
  s_.set_arith_flags(nf, kArithFlags);
  return r;
}

uint64_t Exec::shld(uint64_t dst, uint64_t src, unsigned count, unsigned size, bool left) {
  unsigned bits = size * 8;
  uint64_t m = mask_of(size);
  unsigned cnt = count & (size == 8 ? 63 : 31);
  dst &= m;
  src &= m;
  if (cnt == 0) return dst;
  uint64_t r, cf;
  if (size == 2 && cnt > 16) {
    // Undefined result per the SDM; compute on the 48-bit concatenation like common hardware.
    unsigned n = cnt;
    unsigned __int128 wide = (static_cast<unsigned __int128>(dst) << 32) | (src << 16) | dst;
    r = left ? static_cast<uint64_t>((wide << n) >> 32) & m : static_cast<uint64_t>(wide >> n) & m;
    cf = left ? static_cast<uint64_t>(wide >> (48 - n)) & 1
              : static_cast<uint64_t>(wide >> (n - 1)) & 1;
  } else if (left) {
    r = ((dst << cnt) | (cnt == bits ? src : src >> (bits - cnt))) & m;
    cf = (dst >> (bits - cnt)) & 1;
  } else {
    r = ((cnt == bits ? 0 : dst >> cnt) | (src << (bits - cnt))) & m;
    cf = (dst >> (cnt - 1)) & 1;
  }
  uint64_t of = msb(r, size) ^ msb(dst, size);
  s_.set_arith_flags(szp_flags(r, size) | (cf ? kCF : 0) | (of ? kOF : 0), kArithFlags);
  return r;
}

StepResult Exec::alu_forms(unsigned opc) {
  unsigned op = opc >> 3;
  unsigned form = opc & 7;
  unsigned size = byte_or_op(form);
  uint64_t a, b, r;
  switch (form) {
    case 0:
    case 1:  // r/m, reg
      if (!read_rm(size, &a)) return result_;
      b = get_reg(d_.reg, size);
      r = alu(op, a, b, size);
      if (op != 7 && !write_rm(size, r)) return result_;
      break;
    case 2:
    case 3:  // reg, r/m
      if (!read_rm(size, &b)) return result_;
      a = get_reg(d_.reg, size);
      r = alu(op, a, b, size);
      if (op != 7) set_reg(d_.reg, size, r);
      break;
    default:  // AL/eAX, imm
      size = form == 4 ? 1 : d_.opsize;
      r = alu(op, get_reg(RAX, size), d_.imm, size);
      if (op != 7) set_reg(RAX, size, r);
  }
  return StepResult::Ok;
}

StepResult Exec::group3(unsigned size) {
  uint64_t v;
  if (!read_rm(size, &v)) return result_;
  uint64_t m = mask_of(size);
  unsigned bits = size * 8;
  switch (d_.reg & 7) {
    case 0:
    case 1:
      set_cc(CcOp::Logic, size, v, d_.imm, v & d_.imm & m, 0);
      return StepResult::Ok;
    case 2:
      return write_rm(size, ~v & m) ? StepResult::Ok : result_;
    case 3: {
      uint64_t r = (0 - v) & m;
      if (!write_rm(size, r)) return result_;
      set_cc(CcOp::Sub, size, 0, v, r, 0);
      return StepResult::Ok;
    }
    case 4:
    case 5: {
      bool is_signed = (d_.reg & 7) == 5;
      uint64_t acc = get_reg(RAX, size);
      uint64_t lo, hi;
      bool overflow;
      if (is_signed) {
        __int128 p = static_cast<__int128>(sext(acc, size)) * sext(v, size);
        lo = static_cast<uint64_t>(p) & m;
        hi = static_cast<uint64_t>(p >> bits) & m;
        overflow = p != static_cast<__int128>(sext(lo, size));
      } else {
        unsigned __int128 p = static_cast<unsigned __int128>(acc) * v;
        lo = static_cast<uint64_t>(p) & m;
        hi = static_cast<uint64_t>(p >> bits) & m;
        overflow = hi != 0;
      }
      if (size == 1) {
        set_reg(RAX, 2, (hi << 8) | lo);
      } else {
        set_reg(RAX, size, lo);
        set_reg(RDX, size, hi);
      }
      s_.set_arith_flags(szp_flags(lo, size) | (overflow ? kCF | kOF : 0), kArithFlags);
      return StepResult::Ok;
    }
    default: {
      bool is_signed = (d_.reg & 7) == 7;
      if ((v & m) == 0) return StepResult::DivideError;
      uint64_t lo = size == 1 ? get_reg(RAX, 2) & 0xff : get_reg(RAX, size);
      uint64_t hi = size == 1 ? (get_reg(RAX, 2) >> 8) & 0xff : get_reg(RDX, size);
      unsigned __int128 dividend = (static_cast<unsigned __int128>(hi) << bits) | lo;
      uint64_t q, rem;
      if (!is_signed) {
        unsigned __int128 qq = dividend / v;
        if (qq > m) return StepResult::DivideError;
        q = static_cast<uint64_t>(qq);
        rem = static_cast<uint64_t>(dividend % v);
      } else {
        // Sign-extend the 2*bits dividend to 128 bits.
        unsigned sh = 128 - 2 * bits;
        __int128 sd = static_cast<__int128>(dividend << sh) >> sh;
        __int128 sv = sext(v, size);
        if (sh == 0 && sd == static_cast<__int128>(static_cast<unsigned __int128>(1) << 127))
          return StepResult::DivideError;
        __int128 qq = sd / sv;
        __int128 lim = static_cast<__int128>(1) << (bits - 1);
        if (qq >= lim || qq < -lim) return StepResult::DivideError;
        q = static_cast<uint64_t>(qq) & m;
        rem = static_cast<uint64_t>(sd % sv) & m;
      }
      if (size == 1) {
        set_reg(RAX, 2, (rem << 8) | q);
      } else {
        set_reg(RAX, size, q);
        set_reg(RDX, size, rem);
      }
      return StepResult::Ok;
    }
  }
}

StepResult Exec::group45(unsigned size) {
  unsigned op = d_.reg & 7;
  if (d_.opcode == 0xfe && op > 1) return ud();
  uint64_t v;
  switch (op) {
    case 0:
    case 1: {
      if (!read_rm(size, &v)) return result_;
      uint64_t old_cf = s_.cf() ? kCF : 0;
      uint64_t r = (op == 0 ? v + 1 : v - 1) & mask_of(size);
      if (!write_rm(size, r)) return result_;
      set_cc(op == 0 ? CcOp::Inc : CcOp::Dec, size, v, 1, r, old_cf);
      return StepResult::Ok;
    }
    case 2:  // CALL r/m64
      if (!read_rm(stack_opsize(), &v) || !push(next_rip_, stack_opsize())) return result_;
      next_rip_ = v;
      return StepResult::Ok;
    case 4:  // JMP r/m64
      if (!read_rm(stack_opsize(), &v)) return result_;
      next_rip_ = v;
      return StepResult::Ok;
    case 3:    // CALL m16:16/32/64
    case 5: {  // JMP m16:16/32/64
      if (d_.mod == 3 || d_.opcode == 0xfe) return ud();
      uint64_t off, sel;
      uint64_t addr = ea();
      uint64_t sel_addr = d_.legacy ? (addr + d_.opsize) & 0xffffffffu : addr + d_.opsize;
      if (!read_mem(addr, d_.opsize, &off) || !read_mem(sel_addr, 2, &sel)) return result_;
      return far_jump(static_cast<uint16_t>(sel), off, op == 3);
    }
    case 6: {  // PUSH r/m
      unsigned ps = stack_opsize();
      if (!read_rm(ps, &v) || !push(v, ps)) return result_;
      return StepResult::Ok;
    }
    default:
      return ud();
  }
}

// kind: 0 BT, 1 BTS, 2 BTR, 3 BTC.
StepResult Exec::bit_op(unsigned kind, uint64_t bit_offset, bool from_reg) {
  unsigned size = d_.opsize;
  unsigned bits = size * 8;
  uint64_t v, addr = 0;
  unsigned bit;
  if (d_.mod == 3) {
    v = get_reg(d_.rm, size);
    bit = bit_offset & (bits - 1);
  } else {
    addr = ea();
    if (from_reg) {
      int64_t off = sext(bit_offset, size);
      int64_t unit = off >> (__builtin_ctz(bits));
      addr += static_cast<uint64_t>(unit) * size;
    }
    bit = bit_offset & (bits - 1);
    if (!read_mem(addr, size, &v)) return result_;
  }
  uint64_t cf = (v >> bit) & 1;
  uint64_t nv = v;
  if (kind == 1) nv |= 1ull << bit;
  if (kind == 2) nv &= ~(1ull << bit);
  if (kind == 3) nv ^= 1ull << bit;
  if (kind != 0) {
    if (d_.mod == 3)
      set_reg(d_.rm, size, nv);
    else if (!write_mem(addr, size, nv))
      return result_;
  }
  s_.set_arith_flags(cf ? kCF : 0, kCF);
  return StepResult::Ok;
}

StepResult Exec::two_byte() {
  unsigned op = d_.opcode & 0xff;
  unsigned size = d_.opsize;
  uint64_t a, b;
  if (op >= 0x40 && op <= 0x4f) {  // CMOVcc
    if (!read_rm(size, &b)) return result_;
    set_reg(d_.reg, size, cond(op & 15) ? b : get_reg(d_.reg, size));
    return StepResult::Ok;
  }
  if (op >= 0x80 && op <= 0x8f) {
    if (cond(op & 15)) next_rip_ += d_.imm;
    return StepResult::Ok;
  }
  if (op >= 0x90 && op <= 0x9f) return write_rm(1, cond(op & 15)) ? StepResult::Ok : result_;
  switch (op) {
    case 0x00:
      return system_0f00();
    case 0x01:
      return system_0f01();
    case 0x05:
      return syscall();
    case 0x06:  // CLTS
      if (s_.cpl != 0) return gp();
      s_.cr0 &= ~kCr0TS;
      return StepResult::Ok;
    case 0x07:
      return sysret();
    case 0x08:  // INVD, WBINVD: no caches to write back
    case 0x09:
      return s_.cpl != 0 ? gp() : StepResult::Ok;
    case 0x0b:  // UD2
    case 0xb9:  // UD1
    case 0xff:  // UD0
      return ud();
    case 0x0d:           // PREFETCH/PREFETCHW
    case 0x18 ... 0x1f:  // hint NOPs (prefetchh, NOP r/m, ENDBR64 decode as these)
      if (op == 0x0d && d_.mod == 3) return ud();
      return StepResult::Ok;
    case 0x20:
    case 0x22:
      return mov_cr();
    case 0x21:
    case 0x23:
      return mov_dr();
    case 0x30:
      return wrmsr();
    case 0x31:
      return rdtsc(false);
    case 0x32:
      return rdmsr();
    case 0x33:  // RDPMC: no performance counters
      return gp();
    case 0xa0:
    case 0xa8:
      return push(s_.seg[op == 0xa0 ? FS : GS].selector, stack_opsize()) ? StepResult::Ok : result_;
    case 0xa1:
    case 0xa9:
      return pop_sreg(op == 0xa1 ? FS : GS);
    case 0xa2:
      return cpuid();
    case 0xae:
      return group15();
    case 0xc3:  // MOVNTI m32/m64, r
      if (d_.mod == 3 || size == 2) return ud();
      return write_rm(size, get_reg(d_.reg, size)) ? StepResult::Ok : result_;
    case 0xc7:
      if ((d_.reg & 7) == 1 && d_.mod != 3) return cmpxchg_wide();
      return ud();
    case 0xc8 ... 0xcf: {  // BSWAP
      unsigned r = (op & 7) | ((d_.rex & 1) << 3);
      if (size == 8)
        s_.regs[r] = __builtin_bswap64(s_.regs[r]);
      else if (size == 4)
        set_reg(r, 4, __builtin_bswap32(static_cast<uint32_t>(s_.regs[r])));
      else
        set_reg(r, 2, 0);  // undefined; zero like common hardware
      return StepResult::Ok;
    }
    case 0x10 ... 0x17:
    case 0x28 ... 0x2f:
    case 0x50 ... 0x7f:
    case 0xc2:
    case 0xc4 ... 0xc6:
    case 0xd0 ... 0xfe:
      return sse_op();
    case 0xa3:
    case 0xab:
    case 0xb3:
    case 0xbb:
      return bit_op((op >> 3) & 3, get_reg(d_.reg, size), true);
    case 0xba:
      if ((d_.reg & 7) < 4) return ud();
      return bit_op(d_.reg & 3, d_.imm & 0xff, false);
    case 0xa4:
    case 0xa5:
    case 0xac:
    case 0xad: {
      unsigned cnt = (op & 1) ? get_reg(RCX, 1) : (d_.imm & 0xff);
      if (!read_rm(size, &a)) return result_;
      uint64_t r = shld(a, get_reg(d_.reg, size), cnt, size, op < 0xa8);
      return write_rm(size, r) ? StepResult::Ok : result_;
    }
    case 0xaf: {
      if (!read_rm(size, &b)) return result_;
      a = get_reg(d_.reg, size);
      __int128 p = static_cast<__int128>(sext(a, size)) * sext(b, size);
      uint64_t lo = static_cast<uint64_t>(p) & mask_of(size);
      bool ov = p != static_cast<__int128>(sext(lo, size));
      set_reg(d_.reg, size, lo);
      s_.set_arith_flags(szp_flags(lo, size) | (ov ? kCF | kOF : 0), kArithFlags);
      return StepResult::Ok;
    }
    case 0xb0:
    case 0xb1: {
      size = byte_or_op(op);
      if (!read_rm(size, &a)) return result_;
      uint64_t acc = get_reg(RAX, size);
      alu(7, acc, a, size);
      if (acc == a) {
        if (!write_rm(size, get_reg(d_.reg, size))) return result_;
      } else {
        // A memory destination is written back unchanged; a register one is left alone.
        if (d_.mod != 3 && !write_rm(size, a)) return result_;
        set_reg(RAX, size, a);
      }
      return StepResult::Ok;
    }
    case 0xb6:
    case 0xb7:
    case 0xbe:
    case 0xbf: {
      unsigned ss = (op & 1) ? 2 : 1;
      if (!read_rm(ss, &b)) return result_;
      if (op >= 0xbe) b = static_cast<uint64_t>(sext(b, ss));
      set_reg(d_.reg, size, b);
      return StepResult::Ok;
    }
    case 0xbc:
    case 0xbd: {
      if (!read_rm(size, &b)) return result_;
      if (b == 0) {
        s_.set_arith_flags(kZF, kArithFlags);
        return StepResult::Ok;
      }
      unsigned idx = op == 0xbc ? __builtin_ctzll(b) : 63 - __builtin_clzll(b);
      set_reg(d_.reg, size, idx);
      s_.set_arith_flags(0, kArithFlags);
      return StepResult::Ok;
    }
    case 0xc0:
    case 0xc1: {
      size = byte_or_op(op);
      if (!read_rm(size, &a)) return result_;
      b = get_reg(d_.reg, size);
      uint64_t r = alu(0, a, b, size);
      if (d_.mod == 3) {
        set_reg(d_.reg, size, a);
        set_reg(d_.rm, size, r);
      } else {
        if (!write_rm(size, r)) return result_;
        set_reg(d_.reg, size, a);
      }
      return StepResult::Ok;
    }
  }
  return ud();
}

namespace {

// Whether a LOCK prefix is allowed: only on the read-modify-write forms with a memory
// destination (SDM vol. 2, LOCK).
bool lock_allowed(const DecodedInsn& d) {
  if (!d.has_modrm || d.mod == 3) return false;
  unsigned op = d.opcode, reg = d.reg & 7;
  if (op < 0x40) return (op & 7) <= 1 && (op >> 3) != 7;
  switch (op) {
    case 0x80:
    case 0x81:
    case 0x83:
      return reg != 7;
    case 0x86:
    case 0x87:
    case 0x1ab:
    case 0x1b0:
    case 0x1b1:
    case 0x1b3:
    case 0x1bb:
    case 0x1c0:
    case 0x1c1:
      return true;
    case 0xf6:
    case 0xf7:
      return reg == 2 || reg == 3;
    case 0xfe:
    case 0xff:
      return reg <= 1;
    case 0x1ba:
      return reg >= 5;
    case 0x1c7:
      return reg == 1;
  }
  return false;
}

}  // namespace

StepResult Exec::run() {
  if (d_.lock && !lock_allowed(d_)) return ud();
  unsigned op = d_.opcode;
  // A faulting instruction leaves no trace: the flags of a read-modify-write whose write
  // faults are put back (the instruction is restarted after the fault is handled).
  bool mem_operand = d_.has_modrm && d_.mod != 3;
  LazyFlags saved_cc;
  if (mem_operand) saved_cc = s_.cc;
  StepResult r;
  if (d_.legacy && legacy_only_opcode(op))
    r = legacy_op();
  else if (op >= 0x100)
    r = two_byte();
  else if (op < 0x40)
    r = alu_forms(op);
  else
    r = one_byte();
  if (r == StepResult::Ok || r == StepResult::Halt) {
    s_.rip = next_rip_;
    // Outside 64-bit mode the instruction pointer is EIP or IP, as the (new) code segment says.
    if (d_.legacy && !(s_.long_mode() && (s_.seg[CS].flags & kDescL)))
      s_.rip &= (s_.seg[CS].flags & kDescDB) ? 0xffffffffu : 0xffffu;
  } else if (mem_operand)
    s_.cc = saved_cc;
  return r;
}

StepResult Exec::one_byte() {
  unsigned op = d_.opcode;
  unsigned size = d_.opsize;
  uint64_t a, b;
  StepResult res = StepResult::Ok;
  switch (op) {
    case 0x50 ... 0x57:
      if (!push(get_reg((op & 7) | ((d_.rex & 1) << 3), stack_opsize()), stack_opsize()))
        return result_;
      break;
    case 0x58 ... 0x5f: {
      unsigned ps = stack_opsize();
      if (!pop(&a, ps)) return result_;
      set_reg((op & 7) | ((d_.rex & 1) << 3), ps, a);
      break;
    }
    case 0x63:
      if (!read_rm(4, &b)) return result_;
      set_reg(d_.reg, size, size == 8 ? static_cast<uint64_t>(sext(b, 4)) : b);
      break;
    case 0x68:
    case 0x6a:
      if (!push(d_.imm, stack_opsize())) return result_;
      break;
    case 0x69:
    case 0x6b: {
      if (!read_rm(size, &b)) return result_;
      __int128 p = static_cast<__int128>(sext(b, size)) * sext(d_.imm, size);
      uint64_t lo = static_cast<uint64_t>(p) & mask_of(size);
      bool ov = p != static_cast<__int128>(sext(lo, size));
      set_reg(d_.reg, size, lo);
      s_.set_arith_flags(szp_flags(lo, size) | (ov ? kCF | kOF : 0), kArithFlags);
      break;
    }
    case 0x70 ... 0x7f:
      if (cond(op & 15)) next_rip_ += d_.imm;
      break;
    case 0x80:
    case 0x81:
    case 0x82:  // outside 64-bit mode
    case 0x83: {
      unsigned sz = op == 0x80 || op == 0x82 ? 1 : size;
      if (!read_rm(sz, &a)) return result_;
      uint64_t r = alu(d_.reg & 7, a, d_.imm, sz);
      if ((d_.reg & 7) != 7 && !write_rm(sz, r)) return result_;
      break;
    }
    case 0x84:
    case 0x85: {
      unsigned sz = byte_or_op(op);
      if (!read_rm(sz, &a)) return result_;
      alu(4, a, get_reg(d_.reg, sz), sz);
      break;
    }
    case 0x86:
    case 0x87: {
      unsigned sz = byte_or_op(op);
      if (!read_rm(sz, &a)) return result_;
      b = get_reg(d_.reg, sz);
      if (!write_rm(sz, b)) return result_;
      set_reg(d_.reg, sz, a);
      break;
    }
    case 0x88:
    case 0x89:
      if (!write_rm(byte_or_op(op), get_reg(d_.reg, byte_or_op(op)))) return result_;
      break;
    case 0x8a:
    case 0x8b:
      if (!read_rm(byte_or_op(op), &a)) return result_;
      set_reg(d_.reg, byte_or_op(op), a);
      break;
    case 0x8d:
      if (d_.mod == 3) return ud();
      set_reg(d_.reg, size, ea_offset());
      break;
    case 0x8f: {
      if ((d_.reg & 7) != 0) return ud();
      unsigned ps = stack_opsize();
      uint64_t old_sp = s_.regs[RSP];
      if (!pop(&a, ps)) return result_;
      if (!write_rm(ps, a)) {
        s_.regs[RSP] = old_sp;
        return result_;
      }
      break;
    }
    case 0x90 ... 0x97: {
      unsigned r = (op & 7) | ((d_.rex & 1) << 3);
      if (r == RAX) {  // NOP / PAUSE
        if (d_.rep) s_.spin_hint = true;
        break;
      }
      a = get_reg(r, size);
      set_reg(r, size, get_reg(RAX, size));
      set_reg(RAX, size, a);
      break;
    }
    case 0x98:
      set_reg(RAX, size, static_cast<uint64_t>(sext(get_reg(RAX, size / 2), size / 2)));
      break;
    case 0x99:
      set_reg(RDX, size, msb(get_reg(RAX, size), size) ? ~0ull : 0);
      break;
    case 0xa8:
    case 0xa9: {
      unsigned sz = op == 0xa8 ? 1 : size;
      alu(4, get_reg(RAX, sz), d_.imm, sz);
      break;
    }
    case 0xb0 ... 0xb7:
      set_reg((op & 7) | ((d_.rex & 1) << 3), 1, d_.imm);
      break;
    case 0xb8 ... 0xbf:
      set_reg((op & 7) | ((d_.rex & 1) << 3), size, d_.imm);
      break;
    case 0xc0:
    case 0xc1:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      unsigned sz = byte_or_op(op);
      unsigned cnt = op >= 0xd2 ? get_reg(RCX, 1) : (op >= 0xd0 ? 1 : (d_.imm & 0xff));
      if (!read_rm(sz, &a)) return result_;
      uint64_t r = shift(d_.reg & 7, a, cnt, sz);
      if (!write_rm(sz, r)) return result_;
      break;
    }
    case 0xc2:
    case 0xc3:
      if (!pop(&a, stack_opsize())) return result_;
      if (op == 0xc2) set_stack_pointer(stack_pointer() + (d_.imm & 0xffff));
      next_rip_ = a;
      break;
    case 0xc9: {  // LEAVE
      uint64_t old_sp = s_.regs[RSP];
      set_stack_pointer(s_.regs[RBP]);
      if (!pop(&a, stack_opsize())) {
        s_.regs[RSP] = old_sp;
        return result_;
      }
      set_reg(RBP, stack_opsize(), a);
      break;
    }
    case 0xc6:
    case 0xc7:
      if ((d_.reg & 7) != 0) return ud();
      if (!write_rm(byte_or_op(op), d_.imm)) return result_;
      break;
    case 0xe8:
      if (!push(next_rip_, stack_opsize())) return result_;
      next_rip_ += d_.imm;
      break;
    case 0xe9:
    case 0xeb:
      next_rip_ += d_.imm;
      break;
    case 0xf4:
      return hlt();
    case 0xf5:
      s_.set_arith_flags(s_.cf() ? 0 : kCF, kCF);
      break;
    case 0xf6:
    case 0xf7: {
      StepResult r = group3(byte_or_op(op));
      if (r != StepResult::Ok) return r;
      break;
    }
    case 0xf8:
    case 0xf9:
      s_.set_arith_flags(op == 0xf9 ? kCF : 0, kCF);
      break;
    case 0xfa:
    case 0xfb:
      return cli_sti(op == 0xfb);
    case 0xfc:
    case 0xfd:
      s_.flags_other = (s_.flags_other & ~kDF) | (op == 0xfd ? kDF : 0);
      break;
    case 0xfe:
    case 0xff: {
      StepResult r = group45(byte_or_op(op));
      if (r != StepResult::Ok) return r;
      break;
    }
    default:
      return one_byte_misc();
  }
  return res;
}

StepResult execute(CpuState& state, CpuMemory& mem, const DecodedInsn& insn) {
  return Exec(state, mem, insn).run();
}

StepResult step(CpuState& state, CpuMemory& mem) {
  uint8_t buf[15];
  unsigned n = 0;
  CodeMode mode = code_mode(state);
  // Outside 64-bit mode instructions are fetched at CS.base + (E)IP.
  uint64_t pc = mode == CodeMode::k64 ? state.rip : (state.seg[CS].base + state.rip) & 0xffffffffu;
  if (mem.read(pc, buf, 15)) {
    n = 15;
  } else {
    while (n < 15 && mem.read(pc + n, buf + n, 1)) n++;
  }
  DecodedInsn d;
  switch (decode(buf, n, &d, mode)) {
    case DecodeStatus::Ok:
      return execute(state, mem, d);
    case DecodeStatus::Truncated:
      return StepResult::MemoryFault;
    default:
      return StepResult::InvalidOp;
  }
}

}  // namespace machina::x86
