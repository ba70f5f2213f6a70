// Exception and interrupt delivery in long mode and in real mode.
#include "target/i386/excp.h"

#include "target/i386/seg.h"

namespace machina::x86 {

namespace {

bool fail(CpuState& s, uint8_t vector, uint32_t error) {
  s.exc = {true, vector, true, error};
  return false;
}

bool is_contributory(uint8_t v) {
  return v == kExcDE || v == kExcTS || v == kExcNP || v == kExcSS || v == kExcGP;
}

// Real mode: the vector's far pointer from the interrupt vector table at IDTR.base; FLAGS, CS
// and IP pushed on the 16-bit stack; IF, TF and AC cleared. No error codes.
bool deliver_real_mode(CpuState& s, CpuMemory& m, uint8_t vector, uint64_t return_rip) {
  if (vector * 4u + 3 > s.idtr.limit) return fail(s, kExcGP, vector * 8u + 2);
  uint32_t ivt;
  if (!m.read_system(s.idtr.base + vector * 4u, &ivt, 4)) return false;
  SegmentCache& ss = s.seg[SS];
  bool big = ss.flags & kDescDB;
  uint64_t mask = big ? 0xffffffffu : 0xffffu;
  uint64_t sp = s.regs[RSP] & mask;
  // Pushed in this order, so that IP ends up lowest.
  uint16_t frame[3] = {static_cast<uint16_t>(s.rflags()), s.seg[CS].selector,
                       static_cast<uint16_t>(return_rip)};
  for (uint16_t word : frame) {
    sp = (sp - 2) & mask;
    if (!m.write_system((ss.base + sp) & 0xffffffffu, &word, 2)) {
      if (!s.exc.pending) return fail(s, kExcSS, 0);
      return false;
    }
  }
  if (big)
    s.regs[RSP] = sp;
  else
    s.regs[RSP] = (s.regs[RSP] & ~uint64_t{0xffff}) | sp;
  load_real_mode_segment(s, CS, static_cast<uint16_t>(ivt >> 16));
  s.rip = ivt & 0xffff;
  s.flags_other &= ~(kIF | kTF | kAC | kRF);
  s.irq_shadow = false;
  return true;
}

}  // namespace

bool exception_has_error_code(uint8_t v) {
  return v == kExcDF || v == kExcTS || v == kExcNP || v == kExcSS || v == kExcGP || v == kExcPF ||
         v == kExcAC;
}

bool deliver_event(CpuState& s, CpuMemory& m, uint8_t vector, EventKind kind, bool has_error,
                   uint32_t error_code, uint64_t return_rip) {
  if (!(s.cr0 & kCr0PE)) return deliver_real_mode(s, m, vector, return_rip);
  uint32_t ext = kind == EventKind::Software ? 0 : 1;
  uint32_t idt_err = vector * 8u + 2 + ext;
  // Protected-mode (32-bit) gates are not implemented: such an event cannot be delivered, which
  // ends as a triple fault (the start-up code that runs there, Linux's trampoline, runs with
  // interrupts off and an empty IDT, where this is what hardware does too).
  if (!s.long_mode()) return fail(s, kExcGP, idt_err);
  if (vector * 16u + 15 > s.idtr.limit) return fail(s, kExcGP, idt_err);
  uint32_t gate[4];
  if (!m.read_system(s.idtr.base + vector * 16u, gate, 16)) return false;
  unsigned type = (gate[1] >> 8) & 0xf;
  unsigned gate_dpl = (gate[1] >> 13) & 3;
  if (type != 0xe && type != 0xf) return fail(s, kExcGP, idt_err);
  if (kind == EventKind::Software && gate_dpl < s.cpl) return fail(s, kExcGP, idt_err);
  if (!(gate[1] & kDescP)) return fail(s, kExcNP, idt_err);
  uint16_t sel = gate[0] >> 16;
  uint64_t target = (gate[0] & 0xffffu) | (gate[1] & 0xffff0000u) | (uint64_t{gate[2]} << 32);
  unsigned ist = gate[1] & 7;

  if ((sel & ~3u) == 0) return fail(s, kExcGP, ext);
  Descriptor cd;
  if (!read_descriptor(s, m, sel, &cd)) {
    s.exc.error_code |= ext;
    return false;
  }
  if (!cd.is_code() || cd.dpl() > s.cpl || !(cd.hi & kDescL) || (cd.hi & kDescDB))
    return fail(s, kExcGP, (sel & ~3u) | ext);
  if (!cd.present()) return fail(s, kExcNP, (sel & ~3u) | ext);
  unsigned new_cpl = cd.conforming() ? s.cpl : cd.dpl();

  uint64_t rsp = s.regs[RSP];
  if (ist) {
    if (!read_tss_ist(s, m, ist, &rsp)) return false;
  } else if (new_cpl < s.cpl) {
    if (!read_tss_rsp(s, m, new_cpl, &rsp)) return false;
  }
  rsp &= ~uint64_t{15};
  uint64_t frame[6];
  unsigned n = 0;
  if (has_error) frame[n++] = error_code;
  frame[n++] = return_rip;
  frame[n++] = s.seg[CS].selector;
  frame[n++] = s.rflags();
  frame[n++] = s.regs[RSP];
  frame[n++] = s.seg[SS].selector;
  // The frame, lowest address first: [error], RIP, CS, RFLAGS, RSP, SS. Written at the new
  // privilege level (supervisor accesses for CPL < 3).
  uint64_t base = rsp - n * 8;
  bool ok = new_cpl < 3 ? m.write_system(base, frame, n * 8) : m.write(base, frame, n * 8);
  if (!ok) {
    if (!s.exc.pending) return fail(s, kExcSS, ext);
    return false;
  }

  if (new_cpl != s.cpl) {
    // 64-bit mode: SS becomes a null selector with RPL = new CPL.
    s.seg[SS].selector = static_cast<uint16_t>(new_cpl);
    s.seg[SS].base = 0;
    s.seg[SS].limit = 0;
    s.seg[SS].flags = (new_cpl << 13) | kDescS | kDescP | (0x3u << 8);
  }
  set_segment(s.seg[CS], static_cast<uint16_t>((sel & ~3u) | new_cpl), cd);
  s.cpl = new_cpl;
  s.regs[RSP] = base;
  s.rip = target;
  uint64_t clear = kTF | kNT | kRF | kVM;
  if (type == 0xe) clear |= kIF;
  s.flags_other &= ~clear;
  s.irq_shadow = false;
  return true;
}

bool deliver_pending_exception(CpuState& s, CpuMemory& m, uint64_t return_rip) {
  PendingException first = s.exc;
  s.exc = {};
  if (deliver_event(s, m, first.vector, EventKind::Exception, first.has_error_code,
                    first.error_code, return_rip))
    return true;
  // Delivery faulted.
  PendingException second = s.exc;
  s.exc = {};
  if (first.vector == kExcDF) return false;  // triple fault
  bool df = (is_contributory(first.vector) && is_contributory(second.vector)) ||
            (first.vector == kExcPF && (second.vector == kExcPF || is_contributory(second.vector)));
  if (df) {
    if (deliver_event(s, m, kExcDF, EventKind::Exception, true, 0, return_rip)) return true;
    s.exc = {};
    return false;
  }
  // Benign: the second exception is handled serially.
  if (deliver_event(s, m, second.vector, EventKind::Exception, second.has_error_code,
                    second.error_code, return_rip))
    return true;
  s.exc = {};
  if (deliver_event(s, m, kExcDF, EventKind::Exception, true, 0, return_rip)) return true;
  s.exc = {};
  return false;
}

}  // namespace machina::x86
