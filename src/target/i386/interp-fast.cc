// The interpreter's fast path: see interp-fast.h. Results, flags included, are exactly those of
// the general interpreter (interp.cc), which stays the reference.
#include "target/i386/interp-fast.h"

#include <utility>

#include "target/i386/exec.h"

namespace machina::x86 {

namespace {

using R = const FastInsn*;

// The helpers every handler is made of: inlined whatever the compiler's budget says.
#define MACHINA_FAST inline __attribute__((always_inline))

template <unsigned S>
constexpr uint64_t kMask = S == 8 ? ~0ull : (1ull << (S * 8)) - 1;

// --- registers (S = 1 honours the AH..BH encodings without REX)
template <unsigned S>
MACHINA_FAST uint64_t get(const CpuState& s, const DecodedInsn& d, unsigned idx) {
  if constexpr (S == 1) {
    if (!d.rex && idx >= 4 && idx < 8) return (s.regs[idx - 4] >> 8) & 0xff;
  }
  return s.regs[idx] & kMask<S>;
}
template <unsigned S>
MACHINA_FAST void set(CpuState& s, const DecodedInsn& d, unsigned idx, uint64_t v) {
  if constexpr (S == 1) {
    if (!d.rex && idx >= 4 && idx < 8) {
      uint64_t& r = s.regs[idx - 4];
      r = (r & ~0xff00ull) | ((v & 0xff) << 8);
      return;
    }
    s.regs[idx] = (s.regs[idx] & ~0xffull) | (v & 0xff);
  } else if constexpr (S == 2) {
    s.regs[idx] = (s.regs[idx] & ~0xffffull) | (v & 0xffff);
  } else {
    s.regs[idx] = v & kMask<S>;
  }
}
// The register in the low bits of the opcode (PUSH, POP, MOV r, imm), extended by REX.B.
MACHINA_FAST unsigned opcode_reg(const DecodedInsn& d) {
  return (d.opcode & 7) | ((d.rex & 1) << 3);
}

// --- memory operands
MACHINA_FAST uint64_t ea_offset(const CpuState& s, const DecodedInsn& d) {
  if (d.rip_relative) return s.rip + d.len + d.disp;
  uint64_t a = d.disp;
  if (d.base != kNoReg) a += s.regs[d.base];
  if (d.index != kNoReg) a += s.regs[d.index] << d.scale;
  return a;
}
MACHINA_FAST uint64_t ea(const CpuState& s, const DecodedInsn& d) {
  uint64_t a = ea_offset(s, d);
  if (d.seg == kSegFS) a += s.fs_base;
  if (d.seg == kSegGS) a += s.gs_base;
  return a;
}
// The host address of `addr`..+S when the TLB maps it as RAM for this access, else nullptr.
template <unsigned S, bool Write>
MACHINA_FAST uint8_t* host(CpuState& s, CpuMemory& m, uint64_t addr) {
  if (!m.tlb || (addr & 0xfff) + S > 4096) return nullptr;
  uint64_t page = addr & ~uint64_t{0xfff};
  TlbEntry& e = m.tlb->slot(page, s.cpl == 3);
  if ((Write ? e.fast_write : e.fast_read) != page) return nullptr;
  if (Write && e.host == s.code_page_host) s.code_written = true;
  return e.host + (addr & 0xfff);
}
template <unsigned S>
MACHINA_FAST uint64_t load(const uint8_t* p) {
  uint64_t v = 0;
  __builtin_memcpy(&v, p, S);
  return v;
}
template <unsigned S>
MACHINA_FAST void store(uint8_t* p, uint64_t v) {
  __builtin_memcpy(p, &v, S);
}

// Ends the instruction at `p` and goes on with the next one.
MACHINA_FAST R next(CpuState& s, CpuMemory& m, const FastInsn* at) {
  s.rip += at->d.len;
  if (s.code_written) {
    s.fast_exit = kFastCodeWritten;
    return at + 1;
  }
  return at[1].fn(s, m, at + 1);
}
MACHINA_FAST R jumped(CpuState& s, const FastInsn* at) {
  s.fast_exit = kFastJump;
  return at + 1;
}
MACHINA_FAST R fallback(CpuState& s, const FastInsn* at) {
  s.fast_exit = kFastFallback;
  return at;
}

// --- flags
MACHINA_FAST void set_cc(CpuState& s, CcOp op, unsigned size, uint64_t a, uint64_t b, uint64_t r,
                         uint64_t aux) {
  s.set_cc(op, size, a, b, r, aux);
}
// ZF, SF and PF of `res` (computed when asked for), and CF and OF as given.
MACHINA_FAST void set_result_flags(CpuState& s, unsigned size, uint64_t res, uint64_t cf_of) {
  s.cc.op = CcOp::Result;
  s.cc.size = static_cast<uint8_t>(size);
  s.cc.res = res;
  s.cc.aux = cf_of;
}
MACHINA_FAST bool carry(const CpuState& s) {
  return s.cf();
}
// Condition `cc` (the low nibble of Jcc/SETcc/CMOVcc) from the computed flags.
bool cond_from_flags(const CpuState& s, unsigned cc) {
  return condition_holds(s.arith_flags(), cc);
}
// The same, straight from the operands of the last compare or logic operation where possible.
MACHINA_FAST bool cond(const CpuState& s, unsigned cc) {
  const LazyFlags& c = s.cc;
  unsigned size = c.size;
  uint64_t m = mask_of(size);
  bool r;
  if (c.op == CcOp::Sub && c.aux == 0) {
    uint64_t a = c.a & m, b = c.b & m;
    switch (cc >> 1) {
      case 1:
        r = a < b;
        break;
      case 2:
        r = a == b;
        break;
      case 3:
        r = a <= b;
        break;
      case 4:
        r = msb(c.res, size);
        break;
      case 6:
        r = sext(a, size) < sext(b, size);
        break;
      case 7:
        r = sext(a, size) <= sext(b, size);
        break;
      default:
        return cond_from_flags(s, cc);
    }
    return (cc & 1) ? !r : r;
  }
  if (c.op == CcOp::Logic || c.op == CcOp::Result) {
    uint64_t v = c.res & m;
    uint64_t cf_of = c.op == CcOp::Result ? c.aux : 0;
    switch (cc >> 1) {
      case 0:
        r = cf_of & kOF;
        break;
      case 1:
        r = cf_of & kCF;
        break;
      case 2:
        r = v == 0;
        break;
      case 3:
        r = (cf_of & kCF) || v == 0;
        break;
      case 4:
        r = msb(v, size);
        break;
      case 6:
        r = msb(v, size) != bool(cf_of & kOF);
        break;
      case 7:
        r = v == 0 || msb(v, size) != bool(cf_of & kOF);
        break;
      default:
        return cond_from_flags(s, cc);
    }
    return (cc & 1) ? !r : r;
  }
  // After ADD, ADC, SUB with borrow, INC and DEC: ZF and SF straight from the result.
  if (c.op != CcOp::Flags && ((cc >> 1) == 2 || (cc >> 1) == 4)) {
    uint64_t v = c.res & m;
    r = (cc >> 1) == 2 ? v == 0 : msb(v, size);
    return (cc & 1) ? !r : r;
  }
  return cond_from_flags(s, cc);
}

// --- ALU (ADD OR ADC SBB AND SUB XOR CMP), as Exec::alu
template <unsigned S, unsigned Op>
MACHINA_FAST uint64_t alu(CpuState& s, uint64_t a, uint64_t b) {
  constexpr uint64_t m = kMask<S>;
  a &= m;
  b &= m;
  uint64_t r, cin;
  if constexpr (Op == 0) {
    r = (a + b) & m;
    set_cc(s, CcOp::Add, S, a, b, r, 0);
  } else if constexpr (Op == 2) {
    cin = carry(s);
    r = (a + b + cin) & m;
    set_cc(s, CcOp::Add, S, a, b, r, cin);
  } else if constexpr (Op == 3) {
    cin = carry(s);
    r = (a - b - cin) & m;
    set_cc(s, CcOp::Sub, S, a, b, r, cin);
  } else if constexpr (Op == 1 || Op == 4 || Op == 6) {
    r = Op == 1 ? a | b : Op == 4 ? a & b : a ^ b;
    set_cc(s, CcOp::Logic, S, a, b, r, 0);
  } else {
    r = (a - b) & m;
    set_cc(s, CcOp::Sub, S, a, b, r, 0);
  }
  return r;
}

// ALU r/m, reg (DstRm) or reg, r/m.
template <unsigned S, unsigned Op, bool DstRm>
R alu_reg(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  unsigned dst = DstRm ? d.rm : d.reg, src = DstRm ? d.reg : d.rm;
  uint64_t r = alu<S, Op>(s, get<S>(s, d, dst), get<S>(s, d, src));
  if (Op != 7) set<S>(s, d, dst, r);
  return next(s, m, at);
}
template <unsigned S, unsigned Op, bool DstRm>
R alu_mem(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  constexpr bool kWrites = DstRm && Op != 7;
  uint8_t* p = host<S, kWrites>(s, m, ea(s, d));
  if (!p) return fallback(s, at);
  uint64_t v = load<S>(p);
  if (DstRm) {
    uint64_t r = alu<S, Op>(s, v, get<S>(s, d, d.reg));
    if (kWrites) store<S>(p, r);
  } else {
    uint64_t r = alu<S, Op>(s, get<S>(s, d, d.reg), v);
    if (Op != 7) set<S>(s, d, d.reg, r);
  }
  return next(s, m, at);
}
// ALU r/m, imm (80/81/83) and AL/eAX, imm (Acc).
template <unsigned S, unsigned Op>
R alu_imm_reg(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  uint64_t r = alu<S, Op>(s, get<S>(s, d, d.rm), d.imm);
  if (Op != 7) set<S>(s, d, d.rm, r);
  return next(s, m, at);
}
template <unsigned S, unsigned Op>
R alu_imm_acc(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  uint64_t r = alu<S, Op>(s, get<S>(s, d, RAX), d.imm);
  if (Op != 7) set<S>(s, d, RAX, r);
  return next(s, m, at);
}
template <unsigned S, unsigned Op>
R alu_imm_mem(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  uint8_t* p = host<S, Op != 7>(s, m, ea(s, d));
  if (!p) return fallback(s, at);
  uint64_t r = alu<S, Op>(s, load<S>(p), d.imm);
  if (Op != 7) store<S>(p, r);
  return next(s, m, at);
}
// TEST r/m, reg (84/85) and TEST r/m, imm (F6/F7 /0).
template <unsigned S, bool Imm>
R test_reg(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  alu<S, 4>(s, get<S>(s, d, d.rm), Imm ? d.imm : get<S>(s, d, d.reg));
  return next(s, m, at);
}
template <unsigned S, bool Imm>
R test_mem(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  const uint8_t* p = host<S, false>(s, m, ea(s, d));
  if (!p) return fallback(s, at);
  alu<S, 4>(s, load<S>(p), Imm ? d.imm : get<S>(s, d, d.reg));
  return next(s, m, at);
}
template <unsigned S>
R test_acc(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  alu<S, 4>(s, get<S>(s, d, RAX), d.imm);
  return next(s, m, at);
}

// INC/DEC r/m (FE/FF /0 /1).
template <unsigned S, bool Dec>
inline uint64_t inc_dec(CpuState& s, uint64_t v) {
  uint64_t old_cf = carry(s) ? kCF : 0;
  uint64_t r = (Dec ? v - 1 : v + 1) & kMask<S>;
  set_cc(s, Dec ? CcOp::Dec : CcOp::Inc, S, v, 1, r, old_cf);
  return r;
}
template <unsigned S, bool Dec>
R inc_dec_reg(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  set<S>(s, d, d.rm, inc_dec<S, Dec>(s, get<S>(s, d, d.rm)));
  return next(s, m, at);
}
template <unsigned S, bool Dec>
R inc_dec_mem(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  uint8_t* p = host<S, true>(s, m, ea(s, d));
  if (!p) return fallback(s, at);
  store<S>(p, inc_dec<S, Dec>(s, load<S>(p)));
  return next(s, m, at);
}

// --- moves
template <unsigned S>
// 88/89 mod 3
R mov_rr(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  set<S>(s, d, d.rm, get<S>(s, d, d.reg));
  return next(s, m, at);
}
template <unsigned S>
// 8A/8B mod 3
R mov_rr_rev(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  set<S>(s, d, d.reg, get<S>(s, d, d.rm));
  return next(s, m, at);
}
template <unsigned S>
R mov_load(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  const uint8_t* p = host<S, false>(s, m, ea(s, d));
  if (!p) return fallback(s, at);
  set<S>(s, d, d.reg, load<S>(p));
  return next(s, m, at);
}
template <unsigned S>
R mov_store(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  uint8_t* p = host<S, true>(s, m, ea(s, d));
  if (!p) return fallback(s, at);
  store<S>(p, get<S>(s, d, d.reg));
  return next(s, m, at);
}
template <unsigned S>
// C6/C7 mod 3
R mov_imm_reg(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  set<S>(s, d, d.rm, d.imm);
  return next(s, m, at);
}
template <unsigned S>
// B0-BF
R mov_imm_opreg(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  set<S>(s, d, opcode_reg(d), d.imm);
  return next(s, m, at);
}
template <unsigned S>
R mov_imm_mem(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  uint8_t* p = host<S, true>(s, m, ea(s, d));
  if (!p) return fallback(s, at);
  store<S>(p, d.imm);
  return next(s, m, at);
}
// MOVZX/MOVSX (0F B6/B7/BE/BF) and MOVSXD (63): a SrcS-byte source widened to S bytes.
template <unsigned S, unsigned SrcS, bool Signed>
inline uint64_t widen(uint64_t v) {
  return Signed ? static_cast<uint64_t>(sext(v, SrcS)) : v;
}
template <unsigned S, unsigned SrcS, bool Signed>
R movx_reg(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  set<S>(s, d, d.reg, widen<S, SrcS, Signed>(get<SrcS>(s, d, d.rm)));
  return next(s, m, at);
}
template <unsigned S, unsigned SrcS, bool Signed>
R movx_mem(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  const uint8_t* p = host<SrcS, false>(s, m, ea(s, d));
  if (!p) return fallback(s, at);
  set<S>(s, d, d.reg, widen<S, SrcS, Signed>(load<SrcS>(p)));
  return next(s, m, at);
}
template <unsigned S>
R lea(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  set<S>(s, d, d.reg, ea_offset(s, d));
  return next(s, m, at);
}
template <unsigned S>
R cmov_reg(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  uint64_t v = cond(s, d.opcode & 15) ? get<S>(s, d, d.rm) : get<S>(s, d, d.reg);
  set<S>(s, d, d.reg, v);
  return next(s, m, at);
}
template <unsigned S>
R cmov_mem(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  const uint8_t* p = host<S, false>(s, m, ea(s, d));
  if (!p) return fallback(s, at);
  uint64_t v = cond(s, d.opcode & 15) ? load<S>(p) : get<S>(s, d, d.reg);
  set<S>(s, d, d.reg, v);
  return next(s, m, at);
}
R setcc_reg(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  set<1>(s, d, d.rm, cond(s, d.opcode & 15));
  return next(s, m, at);
}
R setcc_mem(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  uint8_t* p = host<1, true>(s, m, ea(s, d));
  if (!p) return fallback(s, at);
  *p = cond(s, d.opcode & 15);
  return next(s, m, at);
}
template <unsigned S>
// 98 CWDE/CDQE, 99 CDQ/CQO
R convert(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  if (d.opcode == 0x98)
    set<S>(s, d, RAX, static_cast<uint64_t>(sext(get<S / 2>(s, d, RAX), S / 2)));
  else
    set<S>(s, d, RDX, msb(get<S>(s, d, RAX), S) ? ~0ull : 0);
  return next(s, m, at);
}
R nop(CpuState& s, CpuMemory& m, const FastInsn* at) {
  return next(s, m, at);
}

// --- shifts (SHL/SAL, SHR, SAR), as Exec::shift
template <unsigned S, unsigned Op>
inline uint64_t shift(CpuState& s, uint64_t v, unsigned count) {
  constexpr unsigned kBits = S * 8;
  constexpr uint64_t m = kMask<S>;
  unsigned cnt = count & (S == 8 ? 63 : 31);
  v &= m;
  if (cnt == 0) return v;
  uint64_t r, cf, of;
  if constexpr (Op == 5) {
    r = v >> cnt;
    cf = (v >> (cnt - 1)) & 1;
    of = msb(v, S);
  } else if constexpr (Op == 7) {
    int64_t sv = sext(v, S);
    r = static_cast<uint64_t>(sv >> cnt) & m;
    cf = static_cast<uint64_t>(sv >> (cnt - 1)) & 1;
    of = 0;
  } else {
    r = (v << cnt) & m;
    cf = (v >> (kBits - cnt)) & 1;
    of = msb(r, S) ^ cf;
  }
  set_result_flags(s, S, r, (cf ? kCF : 0) | (of ? kOF : 0));
  return r;
}
// ROL and ROR, as Exec::shift: CF and OF from the result, the other flags kept.
template <unsigned S, bool Right>
inline uint64_t rotate(CpuState& s, uint64_t v, unsigned count) {
  constexpr unsigned kBits = S * 8;
  constexpr uint64_t m = kMask<S>;
  unsigned cnt = count & (S == 8 ? 63 : 31);
  v &= m;
  if (cnt == 0) return v;
  uint64_t r, cf, of;
  if constexpr (Right) {
    r = ((v >> cnt) | (v << (kBits - cnt))) & m;
    cf = msb(r, S);
    of = cf ^ ((r >> (kBits - 2)) & 1);
  } else {
    r = ((v << cnt) | (v >> (kBits - cnt))) & m;
    cf = r & 1;
    of = msb(r, S) ^ cf;
  }
  uint64_t kept = s.arith_flags() & (kPF | kAF | kZF | kSF);
  s.cc.op = CcOp::Flags;
  s.cc.aux = kept | (cf ? kCF : 0) | (of ? kOF : 0);
  return r;
}
template <unsigned S, unsigned Op>
inline uint64_t shift_or_rotate(CpuState& s, uint64_t v, unsigned count) {
  if constexpr (Op <= 1)
    return rotate<S, Op == 1>(s, v, count);
  else
    return shift<S, Op>(s, v, count);
}

// The count: CL (D2/D3), 1 (D0/D1) or imm8 (C0/C1).
inline unsigned shift_count(const CpuState& s, const DecodedInsn& d) {
  if (d.opcode >= 0xd2) return s.regs[RCX] & 0xff;
  return d.opcode >= 0xd0 ? 1 : d.imm & 0xff;
}
template <unsigned S, unsigned Op>
R shift_reg(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  set<S>(s, d, d.rm, shift_or_rotate<S, Op>(s, get<S>(s, d, d.rm), shift_count(s, d)));
  return next(s, m, at);
}
template <unsigned S, unsigned Op>
R shift_mem(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  uint8_t* p = host<S, true>(s, m, ea(s, d));
  if (!p) return fallback(s, at);
  store<S>(p, shift_or_rotate<S, Op>(s, load<S>(p), shift_count(s, d)));
  return next(s, m, at);
}

// --- multiplies
template <unsigned S>
inline uint64_t imul(CpuState& s, uint64_t a, uint64_t b) {
  __int128 p = static_cast<__int128>(sext(a, S)) * sext(b, S);
  uint64_t lo = static_cast<uint64_t>(p) & kMask<S>;
  bool ov = p != static_cast<__int128>(sext(lo, S));
  set_result_flags(s, S, lo, ov ? kCF | kOF : 0);
  return lo;
}
// IMUL reg, r/m (0F AF) and IMUL reg, r/m, imm (69/6B).
template <unsigned S, bool Imm>
R imul_reg(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  uint64_t a = Imm ? d.imm : get<S>(s, d, d.reg);
  set<S>(s, d, d.reg, imul<S>(s, get<S>(s, d, d.rm), a));
  return next(s, m, at);
}
template <unsigned S, bool Imm>
R imul_mem(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  const uint8_t* p = host<S, false>(s, m, ea(s, d));
  if (!p) return fallback(s, at);
  uint64_t a = Imm ? d.imm : get<S>(s, d, d.reg);
  set<S>(s, d, d.reg, imul<S>(s, load<S>(p), a));
  return next(s, m, at);
}
// MUL/IMUL r/m (F7 /4 /5): RDX:RAX = RAX * r/m.
template <unsigned S, bool Signed>
inline void mul_acc(CpuState& s, const DecodedInsn& d, uint64_t v) {
  constexpr unsigned kBits = S * 8;
  uint64_t acc = get<S>(s, d, RAX), lo, hi;
  bool overflow;
  if (Signed) {
    __int128 p = static_cast<__int128>(sext(acc, S)) * sext(v, S);
    lo = static_cast<uint64_t>(p) & kMask<S>;
    hi = static_cast<uint64_t>(p >> kBits) & kMask<S>;
    overflow = p != static_cast<__int128>(sext(lo, S));
  } else {
    unsigned __int128 p = static_cast<unsigned __int128>(acc) * v;
    lo = static_cast<uint64_t>(p) & kMask<S>;
    hi = static_cast<uint64_t>(p >> kBits) & kMask<S>;
    overflow = hi != 0;
  }
  set<S>(s, d, RAX, lo);
  set<S>(s, d, RDX, hi);
  set_result_flags(s, S, lo, overflow ? kCF | kOF : 0);
}
template <unsigned S, bool Signed>
R mul_reg(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  mul_acc<S, Signed>(s, d, get<S>(s, d, d.rm));
  return next(s, m, at);
}
template <unsigned S, bool Signed>
R mul_mem(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  const uint8_t* p = host<S, false>(s, m, ea(s, d));
  if (!p) return fallback(s, at);
  mul_acc<S, Signed>(s, d, load<S>(p));
  return next(s, m, at);
}

// --- stack and control transfers (64-bit operand size)
inline bool push64(CpuState& s, CpuMemory& m, uint64_t v) {
  uint64_t sp = s.regs[RSP] - 8;
  uint8_t* p = host<8, true>(s, m, sp);
  if (!p) return false;
  store<8>(p, v);
  s.regs[RSP] = sp;
  return true;
}
inline bool pop64(CpuState& s, CpuMemory& m, uint64_t* v) {
  const uint8_t* p = host<8, false>(s, m, s.regs[RSP]);
  if (!p) return false;
  *v = load<8>(p);
  s.regs[RSP] += 8;
  return true;
}
R push_reg(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  return push64(s, m, s.regs[opcode_reg(d)]) ? next(s, m, at) : fallback(s, at);
}
R push_imm(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  return push64(s, m, d.imm) ? next(s, m, at) : fallback(s, at);
}
R pop_reg(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  uint64_t v;
  if (!pop64(s, m, &v)) return fallback(s, at);
  s.regs[opcode_reg(d)] = v;
  return next(s, m, at);
}
R leave(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const uint8_t* p = host<8, false>(s, m, s.regs[RBP]);
  if (!p) return fallback(s, at);
  s.regs[RSP] = s.regs[RBP] + 8;
  s.regs[RBP] = load<8>(p);
  return next(s, m, at);
}
R jcc(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  if (!cond(s, d.opcode & 15)) return next(s, m, at);
  s.rip += d.len + d.imm;
  return jumped(s, at);
}
// Jcc (Cond) or JMP back to the start of its block: round again while rounds are left.
template <bool Cond>
R jump_back(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  if (Cond && !cond(s, d.opcode & 15)) return next(s, m, at);
  s.rip += d.len + d.imm;
  if (s.fast_rounds_left == 0) return jumped(s, at);
  s.fast_rounds_left--;
  s.fast_loop_insns += at->index + 1;
  const FastInsn* start = at - at->index;
  return start->fn(s, m, start);
}
R jmp(CpuState& s, CpuMemory&, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  s.rip += d.len + d.imm;
  return jumped(s, at);
}
R call(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  uint64_t ret = s.rip + d.len;
  if (!push64(s, m, ret)) return fallback(s, at);
  s.rip = ret + d.imm;
  return jumped(s, at);
}
R ret(CpuState& s, CpuMemory& m, const FastInsn* at) {
  uint64_t v;
  if (!pop64(s, m, &v)) return fallback(s, at);
  s.rip = v;
  return jumped(s, at);
}
// The r/m64 operand of `d`: a register, or memory the TLB maps (false otherwise).
template <bool Mem>
MACHINA_FAST bool rm64(CpuState& s, CpuMemory& m, const DecodedInsn& d, uint64_t* v) {
  if (!Mem) {
    *v = s.regs[d.rm];
    return true;
  }
  const uint8_t* p = host<8, false>(s, m, ea(s, d));
  if (!p) return false;
  *v = load<8>(p);
  return true;
}
// FF /2 and /4: CALL and JMP r/m64.
template <bool Call, bool Mem>
R indirect(CpuState& s, CpuMemory& m, const FastInsn* at) {
  const DecodedInsn& d = at->d;
  uint64_t target;
  if (!rm64<Mem>(s, m, d, &target)) return fallback(s, at);
  if (Call && !push64(s, m, s.rip + d.len)) return fallback(s, at);
  s.rip = target;
  return jumped(s, at);
}
// FF /6: PUSH r/m64.
template <bool Mem>
R push_rm(CpuState& s, CpuMemory& m, const FastInsn* at) {
  uint64_t v;
  if (!rm64<Mem>(s, m, at->d, &v) || !push64(s, m, v)) return fallback(s, at);
  return next(s, m, at);
}

// --- selection
template <unsigned S, unsigned... Op>
FastOp pick_alu(unsigned op, bool mem, int form, std::integer_sequence<unsigned, Op...>) {
  static constexpr FastOp kRmReg[] = {&alu_reg<S, Op, true>...};
  static constexpr FastOp kRegRm[] = {&alu_reg<S, Op, false>...};
  static constexpr FastOp kMemRm[] = {&alu_mem<S, Op, true>...};
  static constexpr FastOp kMemReg[] = {&alu_mem<S, Op, false>...};
  static constexpr FastOp kImmReg[] = {&alu_imm_reg<S, Op>...};
  static constexpr FastOp kImmMem[] = {&alu_imm_mem<S, Op>...};
  static constexpr FastOp kAcc[] = {&alu_imm_acc<S, Op>...};
  switch (form) {
    case 0:
      return mem ? kMemRm[op] : kRmReg[op];
    case 1:
      return mem ? kMemReg[op] : kRegRm[op];
    case 2:
      return mem ? kImmMem[op] : kImmReg[op];
    default:
      return kAcc[op];
  }
}
// form: 0 r/m, reg; 1 reg, r/m; 2 r/m, imm; 3 accumulator, imm.
FastOp alu_op(unsigned size, unsigned op, bool mem, int form) {
  using Ops = std::make_integer_sequence<unsigned, 8>;
  switch (size) {
    case 1:
      return pick_alu<1>(op, mem, form, Ops{});
    case 4:
      return pick_alu<4>(op, mem, form, Ops{});
    case 8:
      return pick_alu<8>(op, mem, form, Ops{});
    default:
      return nullptr;
  }
}

// Picks fn<8, ...>, fn<4, ...> or fn<1, ...> by operand size (nullptr for 16-bit operands).
#define MACHINA_BY_SIZE(size, fn, ...)                     \
  ((size) == 8   ? static_cast<FastOp>(&fn<8 __VA_ARGS__>) \
   : (size) == 4 ? static_cast<FastOp>(&fn<4 __VA_ARGS__>) \
   : (size) == 1 ? static_cast<FastOp>(&fn<1 __VA_ARGS__>) \
                 : nullptr)

template <unsigned Op>
FastOp shift_op(unsigned size, bool mem) {
  if (size == 8) return mem ? &shift_mem<8, Op> : &shift_reg<8, Op>;
  if (size == 4) return mem ? &shift_mem<4, Op> : &shift_reg<4, Op>;
  return nullptr;
}

FastOp select_specialised(const DecodedInsn& d) {
  if (d.lock || d.addrsize != 8) return nullptr;
  unsigned op = d.opcode;
  if (op >= 0x118 && op <= 0x11f) return &nop;               // hint NOPs, whatever the prefixes
  if (d.rep || d.repne) return op == 0xc3 ? &ret : nullptr;  // REP RET is RET
  bool mem = d.has_modrm && d.mod != 3;
  unsigned size = d.opsize;              // 2, 4 or 8
  unsigned bsize = (op & 1) ? size : 1;  // byte forms have an even opcode
  bool wide = size == 4 || size == 8;    // the 16-bit forms stay with execute()
  unsigned ext = d.reg & 7;
  switch (op) {
    case 0x00 ... 0x3f:
      if ((op & 7) >= 6) return nullptr;  // segment pushes and pops, DAA and friends
      if ((op & 7) >= 4) return alu_op(op & 1 ? size : 1, op >> 3, false, 3);
      return alu_op(bsize, op >> 3, mem, (op & 2) ? 1 : 0);
    case 0x50 ... 0x57:
      return size != 2 ? &push_reg : nullptr;  // 64-bit whatever REX.W says
    case 0x58 ... 0x5f:
      return size != 2 ? &pop_reg : nullptr;
    case 0x63:
      if (size != 8) return nullptr;
      return mem ? &movx_mem<8, 4, true> : &movx_reg<8, 4, true>;
    case 0x68:
    case 0x6a:
      return size != 2 ? &push_imm : nullptr;
    case 0x69:
    case 0x6b:
      if (size == 8) return mem ? &imul_mem<8, true> : &imul_reg<8, true>;
      if (size == 4) return mem ? &imul_mem<4, true> : &imul_reg<4, true>;
      return nullptr;
    case 0x70 ... 0x7f:
    case 0x180 ... 0x18f:
      return d.opsize_prefix ? nullptr : &jcc;
    case 0x80:
    case 0x81:
    case 0x83:
      return alu_op(op == 0x80 ? 1 : size, ext, mem, 2);
    case 0x84:
    case 0x85:
      if (mem) return MACHINA_BY_SIZE(bsize, test_mem, , false);
      return MACHINA_BY_SIZE(bsize, test_reg, , false);
    case 0x88:
    case 0x89:
      if (mem) return MACHINA_BY_SIZE(bsize, mov_store);
      return MACHINA_BY_SIZE(bsize, mov_rr);
    case 0x8a:
    case 0x8b:
      if (mem) return MACHINA_BY_SIZE(bsize, mov_load);
      return MACHINA_BY_SIZE(bsize, mov_rr_rev);
    case 0x8d:
      if (!mem) return nullptr;
      return size == 8 ? &lea<8> : size == 4 ? &lea<4> : nullptr;
    case 0x90:
      return (d.rex & 1) ? nullptr : &nop;
    case 0x98:
    case 0x99:
      return size == 8 ? &convert<8> : size == 4 ? &convert<4> : nullptr;
    case 0xa8:
    case 0xa9:
      return MACHINA_BY_SIZE(op == 0xa8 ? 1 : size, test_acc);
    case 0xb0 ... 0xb7:
      return &mov_imm_opreg<1>;
    case 0xb8 ... 0xbf:
      return size == 8 ? &mov_imm_opreg<8> : size == 4 ? &mov_imm_opreg<4> : nullptr;
    case 0xc0:
    case 0xc1:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
      switch (ext) {
        case 0:
          return shift_op<0>(bsize, mem);
        case 1:
          return shift_op<1>(bsize, mem);
        case 4:
        case 6:
          return shift_op<4>(bsize, mem);
        case 5:
          return shift_op<5>(bsize, mem);
        case 7:
          return shift_op<7>(bsize, mem);
        default:
          return nullptr;  // rotates through carry
      }
    case 0xc3:
      return &ret;
    case 0xc6:
    case 0xc7:
      if (ext != 0) return nullptr;
      if (mem) return MACHINA_BY_SIZE(bsize, mov_imm_mem);
      return MACHINA_BY_SIZE(bsize, mov_imm_reg);
    case 0xc9:
      return size != 2 ? &leave : nullptr;
    case 0xe8:
      return d.opsize_prefix ? nullptr : &call;
    case 0xe9:
    case 0xeb:
      return d.opsize_prefix ? nullptr : &jmp;
    case 0xf6:
    case 0xf7:
      if (ext == 0) {
        if (mem) return MACHINA_BY_SIZE(bsize, test_mem, , true);
        return MACHINA_BY_SIZE(bsize, test_reg, , true);
      }
      if ((ext == 4 || ext == 5) && wide && op == 0xf7) {
        if (size == 8)
          return ext == 4 ? (mem ? &mul_mem<8, false> : &mul_reg<8, false>)
                          : (mem ? &mul_mem<8, true> : &mul_reg<8, true>);
        return ext == 4 ? (mem ? &mul_mem<4, false> : &mul_reg<4, false>)
                        : (mem ? &mul_mem<4, true> : &mul_reg<4, true>);
      }
      return nullptr;
    case 0xfe:
    case 0xff:
      if (ext == 0)
        return mem ? MACHINA_BY_SIZE(bsize, inc_dec_mem, , false)
                   : MACHINA_BY_SIZE(bsize, inc_dec_reg, , false);
      if (ext == 1)
        return mem ? MACHINA_BY_SIZE(bsize, inc_dec_mem, , true)
                   : MACHINA_BY_SIZE(bsize, inc_dec_reg, , true);
      if (op == 0xfe || d.opsize_prefix) return nullptr;
      if (ext == 2) return mem ? &indirect<true, true> : &indirect<true, false>;
      if (ext == 4) return mem ? &indirect<false, true> : &indirect<false, false>;
      if (ext == 6) return mem ? &push_rm<true> : &push_rm<false>;
      return nullptr;
    case 0x140 ... 0x14f:
      if (!wide) return nullptr;
      return mem ? (size == 8 ? &cmov_mem<8> : &cmov_mem<4>)
                 : (size == 8 ? &cmov_reg<8> : &cmov_reg<4>);
    case 0x190 ... 0x19f:
      return mem ? &setcc_mem : &setcc_reg;
    case 0x1af:
      if (size == 8) return mem ? &imul_mem<8, false> : &imul_reg<8, false>;
      if (size == 4) return mem ? &imul_mem<4, false> : &imul_reg<4, false>;
      return nullptr;
    case 0x1b6:
    case 0x1be:
      if (!wide) return nullptr;
      if (op == 0x1b6)
        return size == 8 ? (mem ? &movx_mem<8, 1, false> : &movx_reg<8, 1, false>)
                         : (mem ? &movx_mem<4, 1, false> : &movx_reg<4, 1, false>);
      return size == 8 ? (mem ? &movx_mem<8, 1, true> : &movx_reg<8, 1, true>)
                       : (mem ? &movx_mem<4, 1, true> : &movx_reg<4, 1, true>);
    case 0x1b7:
    case 0x1bf:
      if (!wide) return nullptr;
      if (op == 0x1b7)
        return size == 8 ? (mem ? &movx_mem<8, 2, false> : &movx_reg<8, 2, false>)
                         : (mem ? &movx_mem<4, 2, false> : &movx_reg<4, 2, false>);
      return size == 8 ? (mem ? &movx_mem<8, 2, true> : &movx_reg<8, 2, true>)
                       : (mem ? &movx_mem<4, 2, true> : &movx_reg<4, 2, true>);
    default:
      return nullptr;
  }
}

}  // namespace

const FastInsn* fast_fallback(CpuState& s, CpuMemory&, const FastInsn* at) {
  return fallback(s, at);
}

const FastInsn* fast_end_of_block(CpuState& s, CpuMemory&, const FastInsn* at) {
  s.fast_exit = kFastEnd;
  return at;
}

FastOp select_fast_op(const DecodedInsn& d) {
  FastOp op = select_specialised(d);
  return op ? op : &fast_fallback;
}

FastOp select_fast_loop_op(const DecodedInsn& d) {
  FastOp op = select_specialised(d);
  if (op == &jcc) return &jump_back<true>;
  if (op == &jmp) return &jump_back<false>;
  return nullptr;
}

FastResult run_fast_one(CpuState& s, CpuMemory& m, const DecodedInsn& d) {
  const FastInsn run[2] = {{select_fast_op(d), 0, d}, {&fast_end_of_block, 1, {}}};
  const FastInsn* stop = run[0].fn(s, m, run);
  if (stop == run) return FastResult::Fallback;
  return s.fast_exit == kFastJump ? FastResult::Jump : FastResult::Next;
}

}  // namespace machina::x86
