// MMX/SSE2 integer SIMD: unpacks and packs, add/subtract (wrapping and saturating), multiplies,
// compares, logic, averages, min/max, PSADBW, and the shifts by register and by immediate.
#include <type_traits>

#include "target/i386/sse-insn.h"

namespace machina::x86 {

namespace {

template <class T, class F>
void lanes(Vec* d, const Vec& s, unsigned n, F f) {
  for (unsigned i = 0; i < n / sizeof(T); i++)
    d->set<T>(i, static_cast<T>(f(d->get<T>(i), s.get<T>(i))));
}

template <class T>
T clamp(int64_t v) {
  constexpr int64_t lo = std::is_signed_v<T> ? -(int64_t{1} << (sizeof(T) * 8 - 1)) : 0;
  constexpr int64_t hi = std::is_signed_v<T> ? (int64_t{1} << (sizeof(T) * 8 - 1)) - 1
                                             : (int64_t{1} << (sizeof(T) * 8)) - 1;
  return static_cast<T>(v < lo ? lo : (v > hi ? hi : v));
}

// PACKSS/PACKUS: the lanes of d then those of s, each saturated to the narrower type.
template <class From, class To>
Vec pack(const Vec& d, const Vec& s, unsigned n) {
  Vec r;
  unsigned k = n / sizeof(From);
  for (unsigned i = 0; i < k; i++) {
    r.set<To>(i, clamp<To>(d.get<From>(i)));
    r.set<To>(k + i, clamp<To>(s.get<From>(i)));
  }
  return r;
}

template <class T>
T all_ones_if(bool c) {
  return c ? static_cast<T>(~T{0}) : T{0};
}

}  // namespace

Vec sse_unpack(const Vec& d, const Vec& s, unsigned elem, bool high, unsigned n) {
  Vec r;
  unsigned half = n / 2, count = half / elem;
  for (unsigned i = 0; i < count; i++) {
    std::memcpy(r.b + 2 * i * elem, d.b + (high ? half : 0) + i * elem, elem);
    std::memcpy(r.b + (2 * i + 1) * elem, s.b + (high ? half : 0) + i * elem, elem);
  }
  return r;
}

void sse_shift(Vec* v, unsigned n, unsigned elem, unsigned kind, uint64_t count) {
  unsigned bits = elem * 8;
  for (unsigned i = 0; i < n / elem; i++) {
    uint64_t x = 0;
    std::memcpy(&x, v->b + i * elem, elem);
    if (kind == 0) {
      x = count >= bits ? 0 : x >> count;
    } else if (kind == 2) {
      x = count >= bits ? 0 : x << count;
    } else {
      int64_t sx = static_cast<int64_t>(x << (64 - bits)) >> (64 - bits);
      x = static_cast<uint64_t>(sx >> (count >= bits ? bits - 1 : count));
    }
    std::memcpy(v->b + i * elem, &x, elem);
  }
}

bool sse_int_op(unsigned op, Vec* d, const Vec& s, unsigned n) {
  switch (op) {
    case 0x60:
    case 0x61:
    case 0x62:
    case 0x6c:
      *d = sse_unpack(*d, s, op == 0x6c ? 8 : 1u << (op - 0x60), false, n);
      return true;
    case 0x68:
    case 0x69:
    case 0x6a:
    case 0x6d:
      *d = sse_unpack(*d, s, op == 0x6d ? 8 : 1u << (op - 0x68), true, n);
      return true;
    case 0x63:
      *d = pack<int16_t, int8_t>(*d, s, n);
      return true;
    case 0x67:
      *d = pack<int16_t, uint8_t>(*d, s, n);
      return true;
    case 0x6b:
      *d = pack<int32_t, int16_t>(*d, s, n);
      return true;
    case 0x64:
      lanes<int8_t>(d, s, n, [](int8_t a, int8_t b) { return all_ones_if<int8_t>(a > b); });
      return true;
    case 0x65:
      lanes<int16_t>(d, s, n, [](int16_t a, int16_t b) { return all_ones_if<int16_t>(a > b); });
      return true;
    case 0x66:
      lanes<int32_t>(d, s, n, [](int32_t a, int32_t b) { return all_ones_if<int32_t>(a > b); });
      return true;
    case 0x74:
      lanes<uint8_t>(d, s, n, [](uint8_t a, uint8_t b) { return all_ones_if<uint8_t>(a == b); });
      return true;
    case 0x75:
      lanes<uint16_t>(d, s, n,
                      [](uint16_t a, uint16_t b) { return all_ones_if<uint16_t>(a == b); });
      return true;
    case 0x76:
      lanes<uint32_t>(d, s, n,
                      [](uint32_t a, uint32_t b) { return all_ones_if<uint32_t>(a == b); });
      return true;
    case 0xd1:
    case 0xd2:
    case 0xd3:
      sse_shift(d, n, 1u << (op - 0xd0), 0, s.lo());
      return true;
    case 0xe1:
    case 0xe2:
      sse_shift(d, n, 1u << (op - 0xe0), 1, s.lo());
      return true;
    case 0xf1:
    case 0xf2:
    case 0xf3:
      sse_shift(d, n, 1u << (op - 0xf0), 2, s.lo());
      return true;
    case 0xd4:
      lanes<uint64_t>(d, s, n, [](uint64_t a, uint64_t b) { return a + b; });
      return true;
    case 0xfb:
      lanes<uint64_t>(d, s, n, [](uint64_t a, uint64_t b) { return a - b; });
      return true;
    case 0xd5:
      lanes<int16_t>(d, s, n, [](int16_t a, int16_t b) { return int32_t{a} * b; });
      return true;
    case 0xe5:
      lanes<int16_t>(d, s, n, [](int16_t a, int16_t b) { return (int32_t{a} * b) >> 16; });
      return true;
    case 0xe4:
      lanes<uint16_t>(d, s, n, [](uint16_t a, uint16_t b) { return (uint32_t{a} * b) >> 16; });
      return true;
    case 0xf4:  // PMULUDQ: low dword of each quadword
      lanes<uint64_t>(d, s, n,
                      [](uint64_t a, uint64_t b) { return (a & 0xffffffffu) * (b & 0xffffffffu); });
      return true;
    case 0xf5: {  // PMADDWD
      Vec r;
      for (unsigned i = 0; i < n / 4; i++) {
        int64_t sum = int64_t{d->get<int16_t>(2 * i)} * s.get<int16_t>(2 * i) +
                      int64_t{d->get<int16_t>(2 * i + 1)} * s.get<int16_t>(2 * i + 1);
        r.set<uint32_t>(i, static_cast<uint32_t>(sum));
      }
      *d = r;
      return true;
    }
    case 0xf6: {  // PSADBW
      Vec r;
      for (unsigned q = 0; q < n / 8; q++) {
        unsigned sum = 0;
        for (unsigned i = 0; i < 8; i++) {
          int diff = int{d->b[8 * q + i]} - int{s.b[8 * q + i]};
          sum += diff < 0 ? -diff : diff;
        }
        r.set<uint64_t>(q, sum);
      }
      *d = r;
      return true;
    }
    case 0xd8:
      lanes<uint8_t>(d, s, n, [](int a, int b) { return clamp<uint8_t>(a - b); });
      return true;
    case 0xd9:
      lanes<uint16_t>(d, s, n, [](int a, int b) { return clamp<uint16_t>(a - b); });
      return true;
    case 0xdc:
      lanes<uint8_t>(d, s, n, [](int a, int b) { return clamp<uint8_t>(a + b); });
      return true;
    case 0xdd:
      lanes<uint16_t>(d, s, n, [](int a, int b) { return clamp<uint16_t>(a + b); });
      return true;
    case 0xe8:
      lanes<int8_t>(d, s, n, [](int a, int b) { return clamp<int8_t>(a - b); });
      return true;
    case 0xe9:
      lanes<int16_t>(d, s, n, [](int a, int b) { return clamp<int16_t>(a - b); });
      return true;
    case 0xec:
      lanes<int8_t>(d, s, n, [](int a, int b) { return clamp<int8_t>(a + b); });
      return true;
    case 0xed:
      lanes<int16_t>(d, s, n, [](int a, int b) { return clamp<int16_t>(a + b); });
      return true;
    case 0xda:
      lanes<uint8_t>(d, s, n, [](uint8_t a, uint8_t b) { return a < b ? a : b; });
      return true;
    case 0xde:
      lanes<uint8_t>(d, s, n, [](uint8_t a, uint8_t b) { return a > b ? a : b; });
      return true;
    case 0xea:
      lanes<int16_t>(d, s, n, [](int16_t a, int16_t b) { return a < b ? a : b; });
      return true;
    case 0xee:
      lanes<int16_t>(d, s, n, [](int16_t a, int16_t b) { return a > b ? a : b; });
      return true;
    case 0xe0:
      lanes<uint8_t>(d, s, n, [](unsigned a, unsigned b) { return (a + b + 1) >> 1; });
      return true;
    case 0xe3:
      lanes<uint16_t>(d, s, n, [](unsigned a, unsigned b) { return (a + b + 1) >> 1; });
      return true;
    case 0xdb:
      lanes<uint64_t>(d, s, n, [](uint64_t a, uint64_t b) { return a & b; });
      return true;
    case 0xdf:
      lanes<uint64_t>(d, s, n, [](uint64_t a, uint64_t b) { return ~a & b; });
      return true;
    case 0xeb:
      lanes<uint64_t>(d, s, n, [](uint64_t a, uint64_t b) { return a | b; });
      return true;
    case 0xef:
      lanes<uint64_t>(d, s, n, [](uint64_t a, uint64_t b) { return a ^ b; });
      return true;
    case 0xf8:
      lanes<uint8_t>(d, s, n, [](unsigned a, unsigned b) { return a - b; });
      return true;
    case 0xf9:
      lanes<uint16_t>(d, s, n, [](unsigned a, unsigned b) { return a - b; });
      return true;
    case 0xfa:
      lanes<uint32_t>(d, s, n, [](uint32_t a, uint32_t b) { return a - b; });
      return true;
    case 0xfc:
      lanes<uint8_t>(d, s, n, [](unsigned a, unsigned b) { return a + b; });
      return true;
    case 0xfd:
      lanes<uint16_t>(d, s, n, [](unsigned a, unsigned b) { return a + b; });
      return true;
    case 0xfe:
      lanes<uint32_t>(d, s, n, [](uint32_t a, uint32_t b) { return a + b; });
      return true;
  }
  return false;
}

StepResult SseInsn::integer() {
  using namespace sse_host;
  if (pfx_ == kF3 || pfx_ == kF2) return e_.ud();
  if ((op_ == 0x6c || op_ == 0x6d) && pfx_ != k66) return e_.ud();
  const bool mmx_form = pfx_ == kNone;
  StepResult chk = mmx_form ? check_mmx() : check_sse();
  if (chk != StepResult::Ok) return chk;
  Vec d, s;
  if (mmx_form) {
    // The MMX low-half unpacks read only 32 bits of a memory operand.
    if (!load_mmx_rm(&s, op_ >= 0x60 && op_ <= 0x62 ? 4 : 8)) return e_.result_;
    d = Vec::of64(mmx(d_.reg));
    if (!sse_int_op(op_, &d, s, 8)) return e_.ud();
    set_mmx(d_.reg, d.lo());
    return StepResult::Ok;
  }
  if (!load_xmm_rm(&s, 16, true)) return e_.result_;
  d = Vec::of(xmm(d_.reg));
  if (!sse_int_op(op_, &d, s, 16)) return e_.ud();
  xmm(d_.reg) = d.xmm();
  return StepResult::Ok;
}

StepResult SseInsn::shift_imm() {
  using namespace sse_host;
  if (pfx_ == kF3 || pfx_ == kF2 || mem()) return e_.ud();
  const bool mmx_form = pfx_ == kNone;
  const unsigned ext = d_.reg & 7;
  const unsigned elem = 2u << (op_ - 0x71);  // 71: words, 72: dwords, 73: qwords
  unsigned kind;
  switch (ext) {
    case 2:
      kind = 0;
      break;
    case 4:
      if (op_ == 0x73) return e_.ud();
      kind = 1;
      break;
    case 6:
      kind = 2;
      break;
    case 3:
    case 7:
      if (op_ != 0x73 || mmx_form) return e_.ud();
      kind = ext == 3 ? 3 : 4;  // PSRLDQ / PSLLDQ
      break;
    default:
      return e_.ud();
  }
  StepResult chk = mmx_form ? check_mmx() : check_sse();
  if (chk != StepResult::Ok) return chk;
  const unsigned count = d_.imm & 0xff;
  if (mmx_form) {
    Vec v = Vec::of64(mmx(d_.rm));
    sse_shift(&v, 8, elem, kind, count);
    set_mmx(d_.rm, v.lo());
    return StepResult::Ok;
  }
  Vec v = Vec::of(xmm(d_.rm));
  if (kind >= 3) {  // byte shifts of the whole register
    Vec r;
    unsigned c = count > 16 ? 16 : count;
    if (kind == 3)
      std::memcpy(r.b, v.b + c, 16 - c);
    else
      std::memcpy(r.b + c, v.b, 16 - c);
    v = r;
  } else {
    sse_shift(&v, 16, elem, kind, count);
  }
  xmm(d_.rm) = v.xmm();
  return StepResult::Ok;
}

}  // namespace machina::x86
