// x87 instructions (D8-DF): the #NM/#MF checks, then either a control instruction (fpu-env.cc)
// or the host execution of the instruction on the guest's x87 state (fpu-host.h), with the
// memory operand read before and written after, and the last-instruction pointers updated.
#include <cstring>

#include "target/i386/fpu-host.h"
#include "target/i386/fpu-insn.h"

namespace machina::x86 {

namespace {

// Memory operand of each (escape, ModRM.reg): size in bytes, and whether it is stored.
struct MemForm {
  uint8_t size;
  bool store;
};
constexpr MemForm kMemForms[8][8] = {
    {{4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}},    // D8 m32fp
    {{4, 0}, {0, 0}, {4, 1}, {4, 1}, {0, 0}, {0, 0}, {0, 0}, {0, 0}},    // D9
    {{4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}, {4, 0}},    // DA m32int
    {{4, 0}, {4, 1}, {4, 1}, {4, 1}, {0, 0}, {10, 0}, {0, 0}, {10, 1}},  // DB
    {{8, 0}, {8, 0}, {8, 0}, {8, 0}, {8, 0}, {8, 0}, {8, 0}, {8, 0}},    // DC m64fp
    {{8, 0}, {8, 1}, {8, 1}, {8, 1}, {0, 0}, {0, 0}, {0, 0}, {0, 0}},    // DD
    {{2, 0}, {2, 0}, {2, 0}, {2, 0}, {2, 0}, {2, 0}, {2, 0}, {2, 0}},    // DE m16int
    {{2, 0}, {2, 1}, {2, 1}, {2, 1}, {10, 0}, {8, 0}, {10, 1}, {8, 1}},  // DF
};

}  // namespace

unsigned x87_tag_of(const X87Reg& r) {
  unsigned exp = r.sign_exp & 0x7fff;
  if (exp == 0x7fff) return 2;
  if (exp == 0) return r.mant == 0 ? 1 : 2;
  return (r.mant >> 63) ? 0 : 2;  // unnormals are special
}

uint16_t x87_full_tags(const FpuState& f) {
  uint16_t tw = 0;
  for (unsigned i = 0; i < 8; i++)
    tw |= static_cast<uint16_t>(((f.ftw >> i) & 1 ? x87_tag_of(f.r[i]) : 3) << (2 * i));
  return tw;
}

void x87_update_es(FpuState* f) {
  if (f->fsw & kFswExc & ~f->fcw)
    f->fsw |= kFswES | kFswB;
  else
    f->fsw &= ~(kFswES | kFswB);
}

void x87_init(FpuState* f) {
  f->fcw = 0x037f;
  f->fsw = 0;
  f->top = 0;
  f->ftw = 0;
  f->fop = 0;
  f->fip = f->fdp = 0;
  f->fcs = f->fds = 0;
}

StepResult Exec::x87_op() {
  return X87Insn(*this).run();
}

StepResult X87Insn::check_pending() {
  if ((e_.s_.fpu.fsw & kFswES) && (e_.s_.cr0 & kCr0NE)) return e_.raise(kExcMF);
  return StepResult::Ok;
}

StepResult X87Insn::run() {
  if (e_.s_.cr0 & (kCr0EM | kCr0TS)) return e_.raise(kExcNM);
  StepResult r;
  if (control_op(&r)) return r;
  r = check_pending();
  if (r != StepResult::Ok) return r;
  return host_op();
}

StepResult X87Insn::host_op() {
  FpuState& f = e_.s_.fpu;
  unsigned esc = this->esc(), r = reg();
  unsigned modrm = mem() ? (r << 3) | 1 : 0xc0 | (r << 3) | (d_.rm & 7);
  MemForm mf = mem() ? kMemForms[esc][r] : MemForm{0, false};
  if (mem() && mf.size == 0) return e_.ud();
  uint64_t addr = mem() ? e_.ea() : 0;
  uint8_t buf[16] = {};
  if (mf.size && !mf.store && !e_.read_buf(addr, buf, mf.size)) return e_.result_;

  // The guest state as FRSTOR takes it; pending (unmasked) exception flags stay out so that the
  // host does not fault, and are merged back afterwards.
  x87_host::Image img;
  std::memset(&img, 0, sizeof img);
  uint16_t unmasked = f.fsw & kFswExc & ~f.fcw;
  img.fcw = f.fcw;
  img.fsw = static_cast<uint16_t>(f.status_word() & ~(unmasked | kFswES | kFswB));
  img.ftw = x87_full_tags(f);
  for (unsigned k = 0; k < 8; k++) {
    const X87Reg& x = f.r[(f.top + k) & 7];
    std::memcpy(img.st[k], &x.mant, 8);
    std::memcpy(img.st[k] + 8, &x.sign_exp, 2);
  }
  uint64_t flags = e_.s_.arith_flags();
  uint8_t ah = static_cast<uint8_t>((flags & (kSF | kZF | kAF | kPF | kCF)) | 2);
  if (!x87_host::run(esc, modrm, &img, buf, &ah)) return e_.ud();

  uint16_t fsw = img.fsw;
  uint16_t raised_unmasked = fsw & kFswExc & ~f.fcw;
  // A store does not happen when it raised an unmasked invalid, overflow or underflow.
  if (mf.store && !(raised_unmasked & (kFswIE | kFswOE | kFswUE)) &&
      !e_.write_buf(addr, buf, mf.size))
    return e_.result_;

  f.set_status_word(static_cast<uint16_t>(fsw | unmasked));
  x87_update_es(&f);
  f.ftw = 0;
  for (unsigned i = 0; i < 8; i++)
    if (((img.ftw >> (2 * i)) & 3) != 3) f.ftw |= 1u << i;
  for (unsigned k = 0; k < 8; k++) {
    X87Reg& x = f.r[(f.top + k) & 7];
    std::memcpy(&x.mant, img.st[k], 8);
    std::memcpy(&x.sign_exp, img.st[k] + 8, 2);
  }
  // FCOMI/FUCOMI(P): ZF, PF, CF from the compare, OF/SF/AF cleared. The host sets them even
  // when the compare raised an unmasked invalid-operation exception (unordered: ZF=PF=CF=1).
  if (!mem() && (esc == 3 || esc == 7) && (r == 5 || r == 6))
    e_.s_.set_arith_flags(ah & (kZF | kPF | kCF), kArithFlags);
  // Last instruction and data pointers.
  f.fop = static_cast<uint16_t>((esc << 8) | (d_.mod << 6) | (r << 3) | (d_.rm & 7));
  f.fip = e_.s_.rip;
  f.fcs = e_.s_.seg[CS].selector;
  if (mem()) {
    f.fdp = e_.ea_offset();
    f.fds = e_.s_.seg[d_.seg == kSegNone ? DS : d_.seg - 1].selector;
  }
  return StepResult::Ok;
}

}  // namespace machina::x86
