// x87 control instructions: FNINIT, FNCLEX, FLDCW, FNSTCW, FNSTSW (m16 and AX), FLDENV,
// FNSTENV, FRSTOR, FNSAVE, and the 8087/287 leftovers FNENI/FNDISI/FNSETPM (no-ops). The
// environment images use the 32-bit protected-mode layout (28 bytes), or the 16-bit one
// (14 bytes) with an operand-size prefix; reserved halves read as 0xffff as on hardware.
#include <cstring>

#include "target/i386/fpu-insn.h"

namespace machina::x86 {

namespace {

// FLDCW and the other control-word loads keep bit 6 set and bits 13-15 clear.
uint16_t canonical_fcw(uint16_t v) {
  return static_cast<uint16_t>((v & 0x1f3f) | 0x40);
}

void put16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, 2);
}
void put32(uint8_t* p, uint32_t v) {
  std::memcpy(p, &v, 4);
}
uint16_t get16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
uint32_t get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

void X87Insn::make_env(uint8_t* out) const {
  const FpuState& f = e_.s_.fpu;
  if (env_size() == 14) {
    put16(out + 0, f.fcw);
    put16(out + 2, f.status_word());
    put16(out + 4, x87_full_tags(f));
    put16(out + 6, static_cast<uint16_t>(f.fip));
    put16(out + 8, f.fcs);
    put16(out + 10, static_cast<uint16_t>(f.fdp));
    put16(out + 12, f.fds);
    return;
  }
  put32(out + 0, 0xffff0000u | f.fcw);
  put32(out + 4, 0xffff0000u | f.status_word());
  put32(out + 8, 0xffff0000u | x87_full_tags(f));
  put32(out + 12, static_cast<uint32_t>(f.fip));
  put32(out + 16, f.fcs | (static_cast<uint32_t>(f.fop & 0x7ff) << 16));
  put32(out + 20, static_cast<uint32_t>(f.fdp));
  put32(out + 24, 0xffff0000u | f.fds);
}

void X87Insn::load_env(const uint8_t* in) {
  FpuState& f = e_.s_.fpu;
  uint16_t tags;
  if (env_size() == 14) {
    f.fcw = canonical_fcw(get16(in + 0));
    f.set_status_word(get16(in + 2));
    tags = get16(in + 4);
    f.fip = get16(in + 6);
    f.fcs = get16(in + 8);
    f.fdp = get16(in + 10);
    f.fds = get16(in + 12);
  } else {
    f.fcw = canonical_fcw(get16(in + 0));
    f.set_status_word(get16(in + 4));
    tags = get16(in + 8);
    f.fip = get32(in + 12);
    f.fcs = get16(in + 16);
    f.fop = get16(in + 18) & 0x7ff;
    f.fdp = get32(in + 20);
    f.fds = get16(in + 24);
  }
  // Only "empty" is taken from the tag word; the other tags follow the register contents.
  f.ftw = 0;
  for (unsigned i = 0; i < 8; i++)
    if (((tags >> (2 * i)) & 3) != 3) f.ftw |= 1u << i;
  x87_update_es(&f);
}

bool X87Insn::control_op(StepResult* res) {
  FpuState& f = e_.s_.fpu;
  const unsigned esc = this->esc(), r = reg();
  *res = StepResult::Ok;
  if (!mem()) {
    unsigned modrm = 0xc0 | (r << 3) | (d_.rm & 7);
    if (esc == 3 && (modrm == 0xe0 || modrm == 0xe1 || modrm == 0xe4)) return true;
    if (esc == 3 && modrm == 0xe2) {  // FNCLEX
      f.fsw &= ~(kFswExc | kFswSF | kFswES | kFswB);
      return true;
    }
    if (esc == 3 && modrm == 0xe3) {  // FNINIT
      x87_init(&f);
      return true;
    }
    if (esc == 7 && modrm == 0xe0) {  // FNSTSW AX
      e_.set_reg(RAX, 2, f.status_word());
      return true;
    }
    return false;
  }
  const bool env_ops = esc == 1 && r >= 4;
  const bool save_ops = esc == 5 && (r == 4 || r == 6 || r == 7);
  if (!env_ops && !save_ops) return false;
  const uint64_t addr = e_.ea();
  const unsigned env = env_size();
  uint8_t img[108];
  if (esc == 1 && (r == 4 || r == 5)) {  // FLDENV, FLDCW: waiting
    *res = check_pending();
    if (*res != StepResult::Ok) return true;
  }
  if (esc == 5 && r == 4) {  // FRSTOR: waiting
    *res = check_pending();
    if (*res != StepResult::Ok) return true;
  }
  if (env_ops) {
    switch (r) {
      case 4:
        if (!e_.read_buf(addr, img, env)) break;
        load_env(img);
        return true;
      case 5: {
        uint64_t v;
        if (!e_.read_mem(addr, 2, &v)) break;
        f.fcw = canonical_fcw(static_cast<uint16_t>(v));
        x87_update_es(&f);
        return true;
      }
      case 6:  // FNSTENV: stores, then masks every exception
        make_env(img);
        if (!e_.write_buf(addr, img, env)) break;
        f.fcw |= kFswExc;
        x87_update_es(&f);
        return true;
      default:  // FNSTCW
        if (!e_.write_mem(addr, 2, f.fcw)) break;
        return true;
    }
    *res = e_.result_;
    return true;
  }
  switch (r) {
    case 4: {  // FRSTOR
      if (!e_.read_buf(addr, img, env + 80)) break;
      load_env(img);
      for (unsigned k = 0; k < 8; k++) {
        X87Reg& x = f.r[(f.top + k) & 7];
        std::memcpy(&x.mant, img + env + 10 * k, 8);
        std::memcpy(&x.sign_exp, img + env + 10 * k + 8, 2);
      }
      return true;
    }
    case 6:  // FNSAVE: stores, then FNINIT
      make_env(img);
      for (unsigned k = 0; k < 8; k++) {
        const X87Reg& x = f.r[(f.top + k) & 7];
        std::memcpy(img + env + 10 * k, &x.mant, 8);
        std::memcpy(img + env + 10 * k + 8, &x.sign_exp, 2);
      }
      if (!e_.write_buf(addr, img, env + 80)) break;
      x87_init(&f);
      return true;
    default:  // FNSTSW m16
      if (!e_.write_mem(addr, 2, f.status_word())) break;
      return true;
  }
  *res = e_.result_;
  return true;
}

}  // namespace machina::x86
