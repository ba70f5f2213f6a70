// The execution context of one x86 instruction: operand access, flags, exceptions. The
// interpreter's instruction groups (interp*.cc, sse*.cc, fpu*.cc) are members of Exec.
#pragma once

#include <cstdint>

#include "target/i386/cpu.h"
#include "target/i386/decode.h"
#include "target/i386/interp.h"

namespace machina::x86 {

inline uint64_t mask_of(unsigned size) {
  return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}
inline uint64_t msb(uint64_t v, unsigned size) {
  return (v >> (size * 8 - 1)) & 1;
}
inline int64_t sext(uint64_t v, unsigned size) {
  unsigned sh = 64 - size * 8;
  return static_cast<int64_t>(v << sh) >> sh;
}
// ZF, SF and PF of a result.
uint64_t szp_flags(uint64_t r, unsigned size);

class Exec {
 public:
  Exec(CpuState& s, CpuMemory& m, const DecodedInsn& d) : s_(s), m_(m), d_(d) {
    next_rip_ = s.rip + d.len;
  }
  StepResult run();

  // --- registers
  uint64_t get_reg(unsigned idx, unsigned size) const {
    if (size == 1 && !d_.rex && idx >= 4 && idx < 8) return (s_.regs[idx - 4] >> 8) & 0xff;
    return s_.regs[idx] & mask_of(size);
  }
  void set_reg(unsigned idx, unsigned size, uint64_t v) {
    if (size == 1 && !d_.rex && idx >= 4 && idx < 8) {
      uint64_t& r = s_.regs[idx - 4];
      r = (r & ~0xff00ull) | ((v & 0xff) << 8);
      return;
    }
    uint64_t& r = s_.regs[idx];
    switch (size) {
      case 1:
        r = (r & ~0xffull) | (v & 0xff);
        break;
      case 2:
        r = (r & ~0xffffull) | (v & 0xffff);
        break;
      case 4:
        r = v & 0xffffffffull;
        break;
      default:
        r = v;
    }
  }

  // --- memory operands
  // Effective address without (LEA) and with the segment base.
  uint64_t ea_offset() const {
    uint64_t a;
    if (d_.rip_relative) {
      a = next_rip_ + d_.disp;
    } else {
      a = d_.disp;
      if (d_.base != kNoReg) a += s_.regs[d_.base];
      if (d_.index != kNoReg) a += s_.regs[d_.index] << d_.scale;
    }
    if (d_.addrsize != 8) a &= mask_of(d_.addrsize);
    return a;
  }
  // The base of segment `seg` (a SegOverride). In 64-bit mode only FS and GS have one; in a 16-
  // or 32-bit code segment every segment has, and kSegNone means DS.
  uint64_t seg_base(unsigned seg) const {
    if (seg == kSegFS) return s_.fs_base;
    if (seg == kSegGS) return s_.gs_base;
    if (!d_.legacy) return 0;
    return s_.seg[seg == kSegNone ? unsigned{DS} : seg - 1].base;
  }
  // The linear address of offset `off` in segment `seg` (outside 64-bit mode linear addresses
  // are 32 bits and wrap).
  uint64_t linear(uint64_t off, unsigned seg) const {
    uint64_t a = off + seg_base(seg);
    return d_.legacy ? a & 0xffffffffu : a;
  }
  uint64_t ea() const {
    if (!d_.legacy) return ea_offset() + seg_base(d_.seg);
    // Operands addressed through (E)BP or (E)SP default to the stack segment.
    return linear(ea_offset(), d_.seg == kSegNone && stack_operand() ? unsigned{kSegSS} : d_.seg);
  }

  // --- the stack and the instruction pointer outside 64-bit mode
  // PUSH/POP and near CALL/RET operand size: 8 in 64-bit mode unless 66 makes it 2.
  unsigned stack_opsize() const { return d_.legacy ? d_.opsize : (d_.opsize == 2 ? 2 : 8); }
  // The stack pointer's width: 64-bit mode, else SS.B (ESP) or SP.
  unsigned stack_addrsize() const {
    return !d_.legacy ? 8 : ((s_.seg[SS].flags & kDescDB) ? 4 : 2);
  }
  uint64_t stack_pointer() const { return s_.regs[RSP] & mask_of(stack_addrsize()); }
  void set_stack_pointer(uint64_t v) {
    unsigned n = stack_addrsize();
    if (n == 8)
      s_.regs[RSP] = v;
    else
      set_reg(RSP, n, v);
  }
  uint64_t stack_linear(uint64_t sp) const {
    return d_.legacy ? (s_.seg[SS].base + (sp & mask_of(stack_addrsize()))) & 0xffffffffu : sp;
  }

  // The inline TLB hit path for RAM: the entry if `addr`..+size is within one RAM page this
  // mode may access.
  TlbEntry* fast_entry(uint64_t addr, unsigned size, bool write) const {
    if (!m_.tlb || (addr & 0xfff) + size > 4096) return nullptr;
    uint64_t page = addr & ~uint64_t{0xfff};
    TlbEntry& e = m_.tlb->slot(page, s_.cpl == 3);
    return (write ? e.fast_write : e.fast_read) == page ? &e : nullptr;
  }
  bool read_mem(uint64_t addr, unsigned size, uint64_t* v) {
    *v = 0;
    if (TlbEntry* e = fast_entry(addr, size, false)) {
      const uint8_t* p = e->host + (addr & 0xfff);
      switch (size) {
        case 1:
          *v = *p;
          return true;
        case 2:
          __builtin_memcpy(v, p, 2);
          return true;
        case 4:
          __builtin_memcpy(v, p, 4);
          return true;
        case 8:
          __builtin_memcpy(v, p, 8);
          return true;
      }
    }
    if (!m_.read(addr, v, size)) return fault();
    return true;
  }
  bool write_mem(uint64_t addr, unsigned size, uint64_t v) {
    if (TlbEntry* e = fast_entry(addr, size, true)) {
      if (e->host == s_.code_page_host) s_.code_written = true;
      uint8_t* p = e->host + (addr & 0xfff);
      switch (size) {
        case 1:
          *p = static_cast<uint8_t>(v);
          return true;
        case 2:
          __builtin_memcpy(p, &v, 2);
          return true;
        case 4:
          __builtin_memcpy(p, &v, 4);
          return true;
        case 8:
          __builtin_memcpy(p, &v, 8);
          return true;
      }
    }
    if (!m_.write(addr, &v, size)) return fault();
    return true;
  }
  bool read_buf(uint64_t addr, void* buf, unsigned len) {
    if (!m_.read(addr, buf, len)) return fault();
    return true;
  }
  bool write_buf(uint64_t addr, const void* buf, unsigned len) {
    if (!m_.write(addr, buf, len)) return fault();
    return true;
  }
  // Whether the memory operand is addressed through the stack segment (base RSP or RBP).
  bool stack_operand() const {
    return !d_.rip_relative && (d_.base == RSP || d_.base == RBP) && d_.seg == kSegNone;
  }
  bool read_rm(unsigned size, uint64_t* v) {
    if (d_.mod == 3) {
      *v = get_reg(d_.rm, size);
      return true;
    }
    stack_access_ = stack_operand();
    bool ok = read_mem(ea(), size, v);
    stack_access_ = false;
    return ok;
  }
  bool write_rm(unsigned size, uint64_t v) {
    if (d_.mod == 3) {
      set_reg(d_.rm, size, v);
      return true;
    }
    stack_access_ = stack_operand();
    bool ok = write_mem(ea(), size, v);
    stack_access_ = false;
    return ok;
  }
  bool push(uint64_t v, unsigned size) {
    if (d_.legacy) return push_legacy(v, size);
    uint64_t sp = s_.regs[RSP] - size;
    stack_access_ = true;
    if (!write_mem(sp, size, v)) return false;
    stack_access_ = false;
    s_.regs[RSP] = sp;
    return true;
  }
  bool pop(uint64_t* v, unsigned size) {
    if (d_.legacy) return pop_legacy(v, size);
    stack_access_ = true;
    if (!read_mem(s_.regs[RSP], size, v)) return false;
    stack_access_ = false;
    s_.regs[RSP] += size;
    return true;
  }
  bool push_legacy(uint64_t v, unsigned size) {
    uint64_t sp = stack_pointer() - size;
    stack_access_ = true;
    if (!write_mem(stack_linear(sp), size, v)) return false;
    stack_access_ = false;
    set_stack_pointer(sp);
    return true;
  }
  bool pop_legacy(uint64_t* v, unsigned size) {
    stack_access_ = true;
    if (!read_mem(stack_linear(stack_pointer()), size, v)) return false;
    stack_access_ = false;
    set_stack_pointer(stack_pointer() + size);
    return true;
  }
  // A failed memory access: the memory recorded an exception (#PF) or the access is simply
  // unbacked (MemoryFault). A non-canonical address is #GP(0), or #SS(0) for a stack access.
  bool fault() {
    if (s_.exc.pending && stack_access_ && s_.exc.vector == kExcGP && s_.exc.error_code == 0)
      s_.exc.vector = kExcSS;
    result_ = s_.exc.pending ? StepResult::Exception : StepResult::MemoryFault;
    return false;
  }

  // --- flags
  void set_cc(CcOp op, unsigned size, uint64_t a, uint64_t b, uint64_t r, uint64_t aux) {
    s_.set_cc(op, size, a, b, r, aux);
  }
  bool cond(unsigned cc) const;

  // --- exceptions: record one in the state and end the instruction with it.
  StepResult raise(uint8_t vector) {
    s_.exc = {true, vector, false, 0};
    return StepResult::Exception;
  }
  StepResult raise(uint8_t vector, uint32_t error_code) {
    s_.exc = {true, vector, true, error_code};
    return StepResult::Exception;
  }
  StepResult gp(uint32_t error_code = 0) { return raise(kExcGP, error_code); }
  StepResult ud() { return StepResult::InvalidOp; }
  unsigned byte_or_op(unsigned op) const { return (op & 1) ? d_.opsize : 1; }

  // --- instruction groups
  uint64_t alu(unsigned op, uint64_t a, uint64_t b, unsigned size);
  uint64_t shift(unsigned op, uint64_t v, unsigned count, unsigned size);
  uint64_t shld(uint64_t dst, uint64_t src, unsigned count, unsigned size, bool left);
  StepResult alu_forms(unsigned op);
  StepResult group3(unsigned size);
  StepResult group45(unsigned size);
  StepResult bit_op(unsigned kind, uint64_t bit_offset, bool from_reg);
  StepResult two_byte();
  StepResult one_byte();
  StepResult one_byte_misc();
  StepResult cmpxchg_wide();  // 0F C7 /1: CMPXCHG8B / CMPXCHG16B
  // interp-legacy.cc: the opcodes of 16- and 32-bit code segments only (PUSH/POP Sreg, INC/DEC
  // r, PUSHA/POPA, far CALL/JMP ptr, INTO, AAM/AAD, SALC, ...).
  StepResult legacy_op();
  // Far JMP/CALL to selector:offset (ptr16:16/32 or m16:16/32/64): real mode, or a code segment
  // of the same privilege in protected or long mode.
  StepResult far_jump(uint16_t sel, uint64_t offset, bool call);
  // interp-string.cc: MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS with REP/REPE/REPNE.
  StepResult string_op();
  // interp-system.cc: privileged and system instructions.
  StepResult system_0f00();  // SLDT/STR/LLDT/LTR/VERR/VERW
  StepResult system_0f01();  // SGDT/SIDT/LGDT/LIDT/SMSW/LMSW/INVLPG/SWAPGS/RDTSCP/...
  StepResult mov_cr();       // 0F 20 / 0F 22
  StepResult mov_dr();       // 0F 21 / 0F 23
  StepResult rdmsr();
  StepResult wrmsr();
  StepResult cpuid();
  StepResult rdtsc(bool with_aux);
  StepResult syscall();
  StepResult sysret();
  StepResult iret();
  StepResult iret_real();  // IRET in real mode
  StepResult far_return(bool has_imm);
  StepResult int_n(uint8_t vector);
  StepResult in_out();
  StepResult mov_sreg_store();  // 8C
  StepResult mov_sreg_load();   // 8E
  StepResult pop_sreg(unsigned seg);
  StepResult pushf();
  StepResult popf();
  StepResult cli_sti(bool set);
  StepResult hlt();
  // Whether I/O to `port` of `size` is allowed at the current CPL/IOPL (the TSS bitmap).
  bool io_allowed(uint16_t port, unsigned size);
  // sse*.cc: SSE/SSE2/MMX (0F map, with 66/F2/F3 selecting the form).
  StepResult sse_op();
  // fpu*.cc: x87 (D8-DF) and FXSAVE/FXRSTOR/LDMXCSR/STMXCSR/fences (0F AE).
  StepResult x87_op();
  StepResult group15();

  CpuState& s_;
  CpuMemory& m_;
  const DecodedInsn& d_;
  uint64_t next_rip_;
  StepResult result_ = StepResult::Ok;
  bool stack_access_ = false;  // the access in progress goes through SS
};

}  // namespace machina::x86
