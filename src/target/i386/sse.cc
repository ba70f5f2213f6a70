// SSE/SSE2/MMX instructions: dispatch by opcode, the CR0/CR4/x87 checks every form makes, and
// operand access (XMM/MMX registers, memory with the 16-byte alignment of the aligned forms).
#include "target/i386/sse-insn.h"

#include "target/i386/fpu-state.h"

namespace machina::x86 {

StepResult Exec::sse_op() {
  return SseInsn(*this).run();
}

SseInsn::SseInsn(Exec& e) : e_(e), d_(e.d_), op_(e.d_.opcode & 0xff) {
  if (d_.repne)
    pfx_ = sse_host::kF2;
  else if (d_.rep)
    pfx_ = sse_host::kF3;
  else if (d_.opsize_prefix)
    pfx_ = sse_host::k66;
  else
    pfx_ = sse_host::kNone;
}

StepResult SseInsn::run() {
  switch (op_) {
    case 0x10 ... 0x13:
    case 0x16:
    case 0x17:
    case 0x28:
    case 0x29:
    case 0x2b:
    case 0x50:
    case 0x6e:
    case 0x6f:
    case 0x7e:
    case 0x7f:
    case 0xd6:
    case 0xe7:
      return moves();
    case 0x14:
    case 0x15:
    case 0x70:
    case 0xc4:
    case 0xc5:
    case 0xc6:
    case 0xd7:
    case 0xf7:
      return shuffles();
    case 0x2a:
    case 0x2c ... 0x2f:
    case 0x51 ... 0x5f:
    case 0xc2:
    case 0xe6:
      return fp();
    case 0x71 ... 0x73:
      return shift_imm();
    case 0x77:
      return emms();
    case 0x60 ... 0x6d:
    case 0x74 ... 0x76:
    case 0xd1 ... 0xd5:
    case 0xd8 ... 0xe5:
    case 0xe8 ... 0xef:
    case 0xf1 ... 0xf6:
    case 0xf8 ... 0xfe:
      return integer();
    default:  // SSE3 and later (D0 ADDSUBPD, F0 LDDQU, ...), 0F 2B/... prefixed forms
      return e_.ud();
  }
}

StepResult SseInsn::check_sse() {
  const CpuState& s = e_.s_;
  if ((s.cr0 & kCr0EM) || !(s.cr4 & kCr4OSFXSR)) return e_.ud();
  if (s.cr0 & kCr0TS) return e_.raise(kExcNM);
  return StepResult::Ok;
}

StepResult SseInsn::check_mf() {
  const CpuState& s = e_.s_;
  if ((s.fpu.fsw & kFswES) && (s.cr0 & kCr0NE)) return e_.raise(kExcMF);
  return StepResult::Ok;
}

StepResult SseInsn::check_mmx() {
  const CpuState& s = e_.s_;
  if (s.cr0 & kCr0EM) return e_.ud();
  if (s.cr0 & kCr0TS) return e_.raise(kExcNM);
  return check_mf();
}

void SseInsn::enter_mmx() {
  e_.s_.fpu.top = 0;
  e_.s_.fpu.ftw = 0xff;
}

void SseInsn::set_mmx(unsigned i, uint64_t v) {
  X87Reg& r = e_.s_.fpu.r[i & 7];
  r.mant = v;
  r.sign_exp = 0xffff;
  enter_mmx();
}

bool SseInsn::check_align(uint64_t addr, unsigned size, bool aligned) {
  if (aligned && size == 16 && (addr & 15)) {
    e_.result_ = e_.gp(0);
    return false;
  }
  return true;
}

bool SseInsn::load_xmm_rm(Vec* v, unsigned size, bool aligned) {
  if (!mem()) {
    *v = Vec::of(xmm(d_.rm));
    return true;
  }
  *v = Vec{};
  uint64_t addr = e_.ea();
  return check_align(addr, size, aligned) && e_.read_buf(addr, v->b, size);
}

bool SseInsn::store_xmm_rm(const Vec& v, unsigned size, bool aligned) {
  if (!mem()) {
    xmm(d_.rm) = v.xmm();
    return true;
  }
  uint64_t addr = e_.ea();
  return check_align(addr, size, aligned) && e_.write_buf(addr, v.b, size);
}

bool SseInsn::load_mmx_rm(Vec* v, unsigned size) {
  if (!mem()) {
    *v = Vec::of64(mmx(d_.rm));
    return true;
  }
  *v = Vec{};
  return e_.read_buf(e_.ea(), v->b, size);
}

bool SseInsn::load_gpr_rm(uint64_t* v, unsigned size) {
  return e_.read_rm(size, v);
}

bool SseInsn::fp_flags(uint32_t host_mxcsr) {
  uint32_t& csr = e_.s_.fpu.mxcsr;
  uint32_t flags = host_mxcsr & kMxcsrFlags;
  uint32_t masks = (csr >> 7) & kMxcsrFlags;
  if (!(flags & ~masks)) {
    csr |= flags;
    return true;
  }
  // Pre-computation exceptions (invalid, denormal, divide by zero) end the instruction before
  // any result is computed: only their flags are set. Otherwise the post-computation flags are.
  // A post-computation fault reports every flag the operation raised (see lane_flags).
  uint32_t pre = flags & 7;
  csr |= (pre & ~masks) ? pre : flags;
  e_.result_ = (e_.s_.cr4 & kCr4OSXMMEXCPT) ? e_.raise(kExcXM) : e_.ud();
  return false;
}

StepResult SseInsn::emms() {
  if (pfx_ != sse_host::kNone) return e_.ud();
  StepResult r = check_mmx();
  if (r != StepResult::Ok) return r;
  // Like the other MMX instructions EMMS resets TOP; it then marks every register empty.
  e_.s_.fpu.top = 0;
  e_.s_.fpu.ftw = 0;
  return StepResult::Ok;
}

}  // namespace machina::x86
