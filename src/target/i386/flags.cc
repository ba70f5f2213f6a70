// Lazy RFLAGS evaluation.
#include "target/i386/cpu.h"

namespace machina::x86 {

namespace {

uint64_t size_mask(unsigned size) {
  return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}
uint64_t sign_bit(unsigned size) {
  return 1ull << (size * 8 - 1);
}

uint64_t szp(uint64_t res, unsigned size) {
  uint64_t f = 0;
  res &= size_mask(size);
  if (res == 0) f |= kZF;
  if (res & sign_bit(size)) f |= kSF;
  if (!(__builtin_popcount(static_cast<unsigned>(res & 0xff)) & 1)) f |= kPF;
  return f;
}

}  // namespace

uint64_t CpuState::arith_flags() const {
  const LazyFlags& c = cc;
  uint64_t m = size_mask(c.size), sb = sign_bit(c.size);
  uint64_t a = c.a & m, b = c.b & m, r = c.res & m;
  switch (c.op) {
    case CcOp::Flags:
      return c.aux & kArithFlags;
    case CcOp::Logic:
      return szp(r, c.size);
    case CcOp::Result:
      return szp(r, c.size) | (c.aux & (kCF | kOF | kAF));
    case CcOp::Add: {
      uint64_t f = szp(r, c.size);
      if (c.aux ? r <= a : r < a) f |= kCF;
      if ((a ^ r) & (b ^ r) & sb) f |= kOF;
      if ((a ^ b ^ r) & 0x10) f |= kAF;
      return f;
    }
    case CcOp::Sub: {
      uint64_t f = szp(r, c.size);
      if (c.aux ? a <= b : a < b) f |= kCF;
      if ((a ^ b) & (a ^ r) & sb) f |= kOF;
      if ((a ^ b ^ r) & 0x10) f |= kAF;
      return f;
    }
    case CcOp::Inc: {
      uint64_t f = szp(r, c.size) | (c.aux & kCF);
      if (r == sb) f |= kOF;
      if ((a ^ 1 ^ r) & 0x10) f |= kAF;
      return f;
    }
    case CcOp::Dec: {
      uint64_t f = szp(r, c.size) | (c.aux & kCF);
      if (r == sb - 1) f |= kOF;
      if ((a ^ 1 ^ r) & 0x10) f |= kAF;
      return f;
    }
  }
  return 0;
}

bool condition_holds(uint64_t f, unsigned cc) {
  bool r;
  switch (cc >> 1) {
    case 0:
      r = f & kOF;
      break;
    case 1:
      r = f & kCF;
      break;
    case 2:
      r = f & kZF;
      break;
    case 3:
      r = f & (kCF | kZF);
      break;
    case 4:
      r = f & kSF;
      break;
    case 5:
      r = f & kPF;
      break;
    case 6:
      r = !(f & kSF) != !(f & kOF);
      break;
    default:
      r = (f & kZF) || (!(f & kSF) != !(f & kOF));
  }
  return (cc & 1) ? !r : r;
}

void CpuState::set_rflags(uint64_t v) {
  flags_other = (v & ~kArithFlags) | 0x2;
  cc.op = CcOp::Flags;
  cc.aux = v & kArithFlags;
}

void CpuState::set_arith_flags(uint64_t v, uint64_t mask) {
  uint64_t cur = mask == kArithFlags ? 0 : arith_flags();
  cc.op = CcOp::Flags;
  cc.aux = (cur & ~mask) | (v & mask);
}

}  // namespace machina::x86
