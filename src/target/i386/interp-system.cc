// System instructions: control and debug registers, MSRs, CPUID, TSC, descriptor tables, task
// register, SYSCALL/SYSRET, IRET, far returns, software interrupts, segment register moves,
// RFLAGS moves, CLI/STI, HLT.
#include "target/i386/cpu-interrupts.h"
#include "target/i386/cpu-models.h"
#include "target/i386/excp.h"
#include "target/i386/exec.h"
#include "target/i386/msr.h"
#include "target/i386/seg.h"

namespace machina::x86 {

namespace {

constexpr uint64_t kCr4Allowed =
    (1u << 2) | (1u << 3) | kCr4PSE | kCr4PAE | kCr4PGE | (1u << 8) | kCr4OSFXSR | kCr4OSXMMEXCPT;
constexpr unsigned kPhysBits = 40;

unsigned iopl(const CpuState& s) {
  return (s.flags_other >> 12) & 3;
}

}  // namespace

StepResult Exec::mov_cr() {
  if (s_.cpl != 0) return gp();
  unsigned cr = d_.reg;
  bool to_cr = d_.opcode == 0x122;
  if (!to_cr) {
    uint64_t v;
    switch (cr) {
      case 0:
        v = s_.cr0;
        break;
      case 2:
        v = s_.cr2;
        break;
      case 3:
        v = s_.cr3;
        break;
      case 4:
        v = s_.cr4;
        break;
      case 8:
        v = s_.lapic ? s_.lapic->cr8() : 0;
        break;
      default:
        return ud();
    }
    s_.regs[d_.rm] = v;
    return StepResult::Ok;
  }
  uint64_t v = s_.regs[d_.rm];
  switch (cr) {
    case 0: {
      if (v >> 32) return gp();
      v |= kCr0ET;
      if ((v & kCr0PG) && !(v & kCr0PE)) return gp();
      if ((v & kCr0NW) && !(v & kCr0CD)) return gp();
      bool pg_on = (v & kCr0PG) && !(s_.cr0 & kCr0PG);
      bool pg_off = !(v & kCr0PG) && (s_.cr0 & kCr0PG);
      if (pg_on && (s_.efer & kEferLME)) {
        if (!(s_.cr4 & kCr4PAE)) return gp();
        s_.efer |= kEferLMA;
      }
      if (pg_off && s_.long_mode()) {
        if (s_.seg[CS].flags & kDescL) return gp();  // cannot leave long mode from 64-bit code
        s_.efer &= ~kEferLMA;
      }
      if ((v ^ s_.cr0) & (kCr0PG | kCr0WP | kCr0PE)) m_.flush_tlb(true);
      s_.cr0 = v;
      return StepResult::Ok;
    }
    case 2:
      s_.cr2 = v;
      return StepResult::Ok;
    case 3:
      if (v >> kPhysBits) return gp();
      s_.cr3 = v;
      m_.flush_tlb(false);
      return StepResult::Ok;
    case 4:
      if (v & ~kCr4Allowed) return gp();
      if (s_.long_mode() && !(v & kCr4PAE)) return gp();
      if ((v ^ s_.cr4) & (kCr4PGE | kCr4PAE | kCr4PSE)) m_.flush_tlb(true);
      s_.cr4 = v;
      return StepResult::Ok;
    case 8:
      if (v >> 4) return gp();
      if (s_.lapic) s_.lapic->set_cr8(static_cast<uint8_t>(v));
      return StepResult::Ok;
  }
  return ud();
}

StepResult Exec::mov_dr() {
  if (s_.cpl != 0) return gp();
  unsigned dr = d_.reg;
  if (dr > 7) return ud();
  if (dr == 4 || dr == 5) dr += 2;  // aliases of DR6/DR7 while CR4.DE is clear
  if (d_.opcode == 0x121) {
    s_.regs[d_.rm] = s_.dr[dr];
    return StepResult::Ok;
  }
  uint64_t v = s_.regs[d_.rm];
  if ((dr == 6 || dr == 7) && (v >> 32)) return gp();
  if (dr == 6) v = (v | 0xffff0ff0u) & 0xffffefffu;
  if (dr == 7) v = (v | 0x400) & ~0xd000ull;
  s_.dr[dr] = v;
  return StepResult::Ok;
}

StepResult Exec::rdmsr() {
  if (s_.cpl != 0) return gp();
  uint64_t v;
  if (!msr_read(s_, static_cast<uint32_t>(s_.regs[RCX]), &v)) return gp();
  s_.regs[RAX] = v & 0xffffffffu;
  s_.regs[RDX] = v >> 32;
  return StepResult::Ok;
}

StepResult Exec::wrmsr() {
  if (s_.cpl != 0) return gp();
  uint64_t v = (s_.regs[RAX] & 0xffffffffu) | (s_.regs[RDX] << 32);
  if (!msr_write(s_, m_, static_cast<uint32_t>(s_.regs[RCX]), v)) return gp();
  return StepResult::Ok;
}

StepResult Exec::cpuid() {
  uint32_t out[4];
  const X86CpuModel& model = s_.model ? *s_.model : x86_default_cpu_model();
  cpuid_query(model, s_.apic_id, s_.topo, static_cast<uint32_t>(s_.regs[RAX]),
              static_cast<uint32_t>(s_.regs[RCX]), out);
  s_.regs[RAX] = out[0];
  s_.regs[RBX] = out[1];
  s_.regs[RCX] = out[2];
  s_.regs[RDX] = out[3];
  return StepResult::Ok;
}

StepResult Exec::rdtsc(bool with_aux) {
  if ((s_.cr4 & (1u << 2)) && s_.cpl != 0) return gp();
  uint64_t t = read_tsc(s_);
  s_.regs[RAX] = t & 0xffffffffu;
  s_.regs[RDX] = t >> 32;
  if (with_aux) s_.regs[RCX] = s_.tsc_aux & 0xffffffffu;
  return StepResult::Ok;
}

StepResult Exec::system_0f00() {
  unsigned op = d_.reg & 7;
  switch (op) {
    case 0:  // SLDT
    case 1:  // STR
      return write_rm(d_.mod == 3 ? d_.opsize : 2, op == 0 ? s_.ldtr.selector : s_.tr.selector)
                 ? StepResult::Ok
                 : result_;
    case 2:    // LLDT
    case 3: {  // LTR
      if (s_.cpl != 0) return gp();
      uint64_t sel;
      if (!read_rm(2, &sel)) return result_;
      if (sel & 4) return gp(sel & ~3u);
      if ((sel & ~3u) == 0) {
        if (op == 3) return gp();
        s_.ldtr = {};
        s_.ldtr.selector = static_cast<uint16_t>(sel);
        return StepResult::Ok;
      }
      uint32_t off = sel & ~7u;
      if (off + 15 > s_.gdtr.limit) return gp(sel & ~3u);
      uint32_t raw[4];
      if (!m_.read_system(s_.gdtr.base + off, raw, 16)) return (fault(), result_);
      Descriptor d{raw[0], raw[1]};
      unsigned want = op == 2 ? 2 : 9;  // LDT, available 64-bit TSS
      if (!d.is_system() || d.type() != want) return gp(sel & ~3u);
      if (!d.present()) return raise(kExcNP, sel & ~3u);
      SegmentCache& sc = op == 2 ? s_.ldtr : s_.tr;
      set_segment(sc, static_cast<uint16_t>(sel), d);
      sc.base |= uint64_t{raw[2]} << 32;
      if (op == 3) {  // mark the TSS busy
        raw[1] |= 1u << 9;
        sc.flags |= 1u << 9;
        if (!m_.write_system(s_.gdtr.base + off + 4, &raw[1], 4)) return (fault(), result_);
      }
      return StepResult::Ok;
    }
    case 4:    // VERR
    case 5: {  // VERW
      uint64_t sel;
      if (!read_rm(2, &sel)) return result_;
      Descriptor d;
      bool ok = (sel & ~3u) != 0 && read_descriptor(s_, m_, static_cast<uint16_t>(sel), &d) &&
                !d.is_system() && (d.conforming() || (d.dpl() >= s_.cpl && d.dpl() >= (sel & 3)));
      s_.exc = {};
      if (ok)
        ok = op == 4 ? (!d.is_code() || d.readable_or_writable())
                     : (!d.is_code() && d.readable_or_writable());
      s_.set_arith_flags(ok ? kZF : 0, kZF);
      return StepResult::Ok;
    }
  }
  return ud();
}

StepResult Exec::system_0f01() {
  unsigned op = d_.reg & 7;
  if (d_.mod == 3) {
    uint8_t modrm_low = static_cast<uint8_t>((op << 3) | (d_.rm & 7));
    switch (modrm_low) {
      case 0x38:  // F8: SWAPGS
        if (s_.cpl != 0) return gp();
        std::swap(s_.gs_base, s_.kernel_gs_base);
        s_.seg[GS].base = s_.gs_base;
        return StepResult::Ok;
      case 0x39:  // F9: RDTSCP
        return rdtsc(true);
    }
    if (op == 4) {  // SMSW r
      return write_rm(d_.opsize, s_.cr0 & mask_of(d_.opsize)) ? StepResult::Ok : result_;
    }
    if (op == 6) {  // LMSW r
      if (s_.cpl != 0) return gp();
      uint64_t v = get_reg(d_.rm, 2);
      // LMSW sets PE (never clears it) and writes MP, EM, TS.
      s_.cr0 = (s_.cr0 & ~0xeull) | (v & 0xe) | ((v | s_.cr0) & 1);
      return StepResult::Ok;
    }
    return ud();
  }
  uint64_t addr = ea();
  switch (op) {
    case 0:    // SGDT
    case 1: {  // SIDT
      const DescriptorTable& t = op == 0 ? s_.gdtr : s_.idtr;
      uint8_t buf[10];
      uint16_t limit = static_cast<uint16_t>(t.limit);
      __builtin_memcpy(buf, &limit, 2);
      __builtin_memcpy(buf + 2, &t.base, 8);
      return write_buf(addr, buf, d_.legacy ? 6 : 10) ? StepResult::Ok : result_;
    }
    case 2:    // LGDT
    case 3: {  // LIDT
      if (s_.cpl != 0) return gp();
      // A 10-byte operand in 64-bit mode, else 6 bytes (of whose base 16-bit operands keep 24
      // bits).
      uint8_t buf[10] = {};
      unsigned len = d_.legacy ? 6 : 10;
      if (!read_buf(addr, buf, len)) return result_;
      uint16_t limit;
      uint64_t base;
      __builtin_memcpy(&limit, buf, 2);
      __builtin_memcpy(&base, buf + 2, 8);
      if (d_.legacy) base &= d_.opsize == 2 ? 0xffffffu : 0xffffffffu;
      if (!is_canonical(base)) return gp();
      DescriptorTable& t = op == 2 ? s_.gdtr : s_.idtr;
      t.base = base;
      t.limit = limit;
      return StepResult::Ok;
    }
    case 4:  // SMSW m16
      return write_mem(addr, 2, s_.cr0 & 0xffff) ? StepResult::Ok : result_;
    case 6: {  // LMSW m16
      if (s_.cpl != 0) return gp();
      uint64_t v;
      if (!read_mem(addr, 2, &v)) return result_;
      s_.cr0 = (s_.cr0 & ~0xeull) | (v & 0xe) | ((v | s_.cr0) & 1);
      return StepResult::Ok;
    }
    case 7:  // INVLPG
      if (s_.cpl != 0) return gp();
      m_.flush_page(addr);
      return StepResult::Ok;
  }
  return ud();
}

StepResult Exec::syscall() {
  if (!(s_.efer & kEferSCE)) return ud();
  if (!s_.long_mode()) return ud();  // legacy-mode SYSCALL is not implemented
  uint64_t rflags = s_.rflags() & ~kRF;
  s_.regs[RCX] = next_rip_;
  s_.regs[R11] = rflags;
  s_.set_rflags((rflags & ~s_.sfmask) | 2);
  uint16_t sel = static_cast<uint16_t>((s_.star >> 32) & 0xfffc);
  set_flat_segment(s_.seg[CS], sel, true, 0);
  set_flat_segment(s_.seg[SS], static_cast<uint16_t>(sel + 8), false, 0);
  s_.cpl = 0;
  // From compatibility mode (the AMD form, which Linux's 32-bit vDSO uses on this vendor's
  // CPUs) the entry point is CSTAR.
  next_rip_ = d_.legacy ? s_.cstar : s_.lstar;
  return StepResult::Ok;
}

StepResult Exec::sysret() {
  if (!(s_.efer & kEferSCE)) return ud();
  if (s_.cpl != 0) return gp();
  uint16_t base = static_cast<uint16_t>(s_.star >> 48);
  if (!s_.long_mode() || d_.legacy) return ud();  // only from 64-bit mode
  bool to64 = d_.opsize == 8;
  if (to64 && !is_canonical(s_.regs[RCX])) return gp();
  s_.set_rflags((s_.regs[R11] & 0x3c7fd7) | 2);
  if (to64) {
    set_flat_segment(s_.seg[CS], static_cast<uint16_t>((base + 16) | 3), true, 3);
  } else {
    // SYSRETL: to compatibility mode, CS = STAR[63:48] with a flat 32-bit code segment.
    set_flat_segment(s_.seg[CS], static_cast<uint16_t>(base | 3), true, 3);
    s_.seg[CS].flags = (s_.seg[CS].flags & ~kDescL) | kDescDB;
  }
  set_flat_segment(s_.seg[SS], static_cast<uint16_t>((base + 8) | 3), false, 3);
  s_.cpl = 3;
  next_rip_ = to64 ? s_.regs[RCX] : s_.regs[RCX] & 0xffffffffu;
  return StepResult::Ok;
}

StepResult Exec::iret() {
  unsigned sz = d_.opsize;  // IRETQ (8), IRETD (4), IRET (2)
  if (!(s_.cr0 & kCr0PE)) return iret_real();
  // IRET in protected mode and in compatibility mode is not implemented (Linux runs none: its
  // 32-bit processes enter and leave the kernel in 64-bit mode).
  if (d_.legacy) return gp();
  uint64_t sp = s_.regs[RSP];
  uint64_t v[5];
  for (int i = 0; i < 5; i++)
    if (!read_mem(sp + i * sz, sz, &v[i])) return result_;
  uint64_t rip = v[0], flags = v[2], rsp = v[3];
  uint16_t cs = static_cast<uint16_t>(v[1]), ss = static_cast<uint16_t>(v[4]);
  unsigned old_cpl = s_.cpl;
  unsigned new_cpl = cs & 3;
  if (new_cpl < old_cpl) return gp(cs & ~3u);
  SegmentCache saved_cs = s_.seg[CS], saved_ss = s_.seg[SS];
  if (!load_return_segments(s_, m_, cs, ss, true)) {
    s_.seg[CS] = saved_cs;
    s_.seg[SS] = saved_ss;
    return StepResult::Exception;
  }
  // Which RFLAGS bits IRET may change depends on the CPL it ran at.
  uint64_t changeable = kArithFlags | kTF | kDF | kNT | kAC | kID | kRF;
  if (old_cpl == 0)
    changeable |= kIOPL | kIF | kVIF | kVIP;
  else if (old_cpl <= iopl(s_))
    changeable |= kIF;
  if (sz == 2) changeable &= 0xffff;
  uint64_t nf = (s_.rflags() & ~changeable) | (flags & changeable);
  s_.set_rflags(nf);
  s_.cpl = new_cpl;
  if (new_cpl > old_cpl) {
    // Data segments the new CPL may not use become null (their FS/GS bases are kept).
    for (unsigned seg : {ES, DS, FS, GS}) {
      SegmentCache& sc = s_.seg[seg];
      bool code_conforming = (sc.flags & (3u << 10)) == (3u << 10);
      if ((sc.selector & ~3u) != 0 && sc.dpl() < new_cpl && !code_conforming) {
        sc.selector = 0;
        sc.flags = 0;
      }
    }
  }
  s_.regs[RSP] = sz == 8 ? rsp : (sz == 4 ? rsp & 0xffffffffu : rsp & 0xffff);
  s_.nmi_blocked = false;
  next_rip_ = (s_.seg[CS].flags & kDescL) ? rip : rip & 0xffffffffu;  // to compatibility mode
  return StepResult::Ok;
}

StepResult Exec::iret_real() {
  unsigned sz = d_.opsize;
  uint64_t ip, cs, flags;
  uint64_t sp = stack_pointer();
  if (!pop(&ip, sz) || !pop(&cs, sz) || !pop(&flags, sz)) {
    set_stack_pointer(sp);
    return result_;
  }
  uint64_t changeable = kArithFlags | kTF | kIF | kDF | kIOPL | kNT;
  if (sz == 4) changeable |= kAC | kID;
  s_.set_rflags((s_.rflags() & ~changeable & ~kRF) | (flags & changeable));
  load_real_mode_segment(s_, CS, static_cast<uint16_t>(cs));
  s_.nmi_blocked = false;
  next_rip_ = ip;
  return StepResult::Ok;
}

StepResult Exec::far_return(bool has_imm) {
  unsigned sz = d_.opsize;
  if (d_.legacy) {
    if (s_.cr0 & kCr0PE) return gp();  // protected-mode far RET is not implemented
    uint64_t ip, cs;
    uint64_t sp = stack_pointer();
    if (!pop(&ip, sz) || !pop(&cs, sz)) {
      set_stack_pointer(sp);
      return result_;
    }
    if (has_imm) set_stack_pointer(stack_pointer() + (d_.imm & 0xffff));
    load_real_mode_segment(s_, CS, static_cast<uint16_t>(cs));
    next_rip_ = ip;
    return StepResult::Ok;
  }
  uint64_t sp = s_.regs[RSP];
  uint64_t rip, cs;
  if (!read_mem(sp, sz, &rip) || !read_mem(sp + sz, sz, &cs)) return result_;
  uint64_t imm = has_imm ? (d_.imm & 0xffff) : 0;
  unsigned new_cpl = cs & 3;
  if (new_cpl < s_.cpl) return gp(cs & ~3u);
  SegmentCache saved_cs = s_.seg[CS], saved_ss = s_.seg[SS];
  uint64_t new_rsp = sp + 2 * sz + imm;
  bool outer = new_cpl > s_.cpl;
  uint64_t rsp = 0, ss = 0;
  if (outer) {
    if (!read_mem(new_rsp, sz, &rsp) || !read_mem(new_rsp + sz, sz, &ss)) return result_;
  }
  if (!load_return_segments(s_, m_, static_cast<uint16_t>(cs), static_cast<uint16_t>(ss), outer)) {
    s_.seg[CS] = saved_cs;
    s_.seg[SS] = saved_ss;
    return StepResult::Exception;
  }
  s_.cpl = new_cpl;
  s_.regs[RSP] = outer ? rsp + imm : new_rsp;
  next_rip_ = (s_.seg[CS].flags & kDescL) ? rip : rip & 0xffffffffu;  // to compatibility mode
  return StepResult::Ok;
}

StepResult Exec::int_n(uint8_t vector) {
  if (!deliver_event(s_, m_, vector, EventKind::Software, false, 0, next_rip_))
    return StepResult::Exception;
  next_rip_ = s_.rip;
  return StepResult::Ok;
}

StepResult Exec::mov_sreg_store() {
  unsigned seg = d_.reg & 7;
  if (seg > GS) return ud();
  uint16_t sel = s_.seg[seg].selector;
  if (d_.mod == 3) {
    set_reg(d_.rm, d_.opsize, sel);
    return StepResult::Ok;
  }
  return write_mem(ea(), 2, sel) ? StepResult::Ok : result_;
}

StepResult Exec::mov_sreg_load() {
  unsigned seg = d_.reg & 7;
  if (seg > GS || seg == CS) return ud();
  uint64_t sel;
  if (!read_rm(2, &sel)) return result_;
  if (!load_data_segment(s_, m_, seg, static_cast<uint16_t>(sel))) return (fault(), result_);
  if (seg == SS) s_.irq_shadow = true;
  return StepResult::Ok;
}

StepResult Exec::pop_sreg(unsigned seg) {
  unsigned sz = stack_opsize();
  uint64_t sel;
  uint64_t old_sp = s_.regs[RSP];
  if (!pop(&sel, sz)) return result_;
  if (!load_data_segment(s_, m_, seg, static_cast<uint16_t>(sel))) {
    s_.regs[RSP] = old_sp;
    return (fault(), result_);
  }
  if (seg == SS) s_.irq_shadow = true;
  return StepResult::Ok;
}

StepResult Exec::pushf() {
  return push(s_.rflags() & ~(kVM | kRF), stack_opsize()) ? StepResult::Ok : result_;
}

StepResult Exec::popf() {
  unsigned sz = stack_opsize();
  uint64_t v;
  if (!pop(&v, sz)) return result_;
  uint64_t changeable = kArithFlags | kTF | kDF | kNT | kAC | kID;
  if (s_.cpl == 0)
    changeable |= kIOPL | kIF;
  else if (s_.cpl <= iopl(s_))
    changeable |= kIF;
  if (sz == 2) changeable &= 0xffff;
  s_.set_rflags((s_.rflags() & ~changeable & ~kRF) | (v & changeable));
  return StepResult::Ok;
}

StepResult Exec::cli_sti(bool set) {
  if (s_.cpl > iopl(s_)) return gp();
  if (set) {
    if (!(s_.flags_other & kIF)) s_.irq_shadow = true;
    s_.flags_other |= kIF;
  } else {
    s_.flags_other &= ~kIF;
  }
  return StepResult::Ok;
}

StepResult Exec::hlt() {
  if (s_.cpl != 0) return gp();
  return StepResult::Halt;
}

bool Exec::io_allowed(uint16_t port, unsigned size) {
  if (s_.cpl <= iopl(s_)) return true;
  // The I/O permission bitmap of the TSS: every bit of the accessed ports must be clear.
  if (!s_.tr.present() || s_.tr.limit < 0x67) return false;
  uint16_t bitmap_off;
  if (!m_.read_system(s_.tr.base + 0x66, &bitmap_off, 2)) {
    s_.exc = {};
    return false;
  }
  uint32_t byte = bitmap_off + port / 8u;
  if (byte + 1 > s_.tr.limit) return false;
  uint16_t bits;
  if (!m_.read_system(s_.tr.base + byte, &bits, 2)) {
    s_.exc = {};
    return false;
  }
  unsigned mask = ((1u << size) - 1) << (port & 7);
  return (bits & mask) == 0;
}

StepResult Exec::in_out() {
  unsigned op = d_.opcode;
  unsigned size = (op & 1) ? (d_.opsize == 2 ? 2 : 4) : 1;
  uint16_t port = op >= 0xec ? static_cast<uint16_t>(s_.regs[RDX]) : (d_.imm & 0xff);
  if (!io_allowed(port, size)) return gp();
  bool is_out = op & 2;
  if (is_out) {
    m_.io_write(port, size, static_cast<uint32_t>(get_reg(RAX, size)));
  } else {
    uint32_t v;
    m_.io_read(port, size, &v);
    set_reg(RAX, size, v);
  }
  return StepResult::Ok;
}

}  // namespace machina::x86
