// Helpers for the SSE/MMX/x87 tests: operand generators with the edge values of each element
// type, conversion between an FXSAVE image and the interpreter's state, the interpreter fixture
// (CR0/CR4 set for SSE) and a field-by-field comparison of x87/SSE state.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "target/i386/cpu.h"
#include "target/i386/interp.h"

namespace machina::x86::test {

inline int env_int(const char* name, int def) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : def;
}
// MACHINA_X86_DIFF_SCALE=N runs N times as many cases (the long mode).
inline int diff_scale() {
  int n = env_int("MACHINA_X86_DIFF_SCALE", 1);
  return n < 1 ? 1 : n;
}

enum class Vk { F32, F64, I8, I16, I32, I64, Count, Any };

class Gen {
 public:
  explicit Gen(uint64_t seed) : state_(seed) {}
  // splitmix64: fast, and good enough for operand generation.
  uint64_t u64() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  unsigned below(unsigned n) { return static_cast<unsigned>(((u64() >> 32) * n) >> 32); }
  bool chance(unsigned percent) { return below(100) < percent; }

  uint64_t int_edge(unsigned bytes) {
    static const uint64_t e[] = {0,
                                 1,
                                 2,
                                 0x7f,
                                 0x80,
                                 0xff,
                                 0x7fff,
                                 0x8000,
                                 0xffff,
                                 0x7fffffff,
                                 0x80000000,
                                 0xffffffff,
                                 0x7fffffffffffffff,
                                 0x8000000000000000,
                                 ~0ull,
                                 ~0ull - 1,
                                 0x100,
                                 0x10000,
                                 0x7ffe,
                                 0x8001};
    uint64_t v = below(3) == 0 ? u64() : e[below(sizeof e / sizeof e[0])];
    if (below(4) == 0) v = static_cast<uint64_t>(-static_cast<int64_t>(below(300)));
    if (below(4) == 0) v = below(300);
    return bytes == 8 ? v : v & ((1ull << (bytes * 8)) - 1);
  }
  uint32_t f32() {
    static const uint32_t e[] = {
        0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f000000, 0x3fc00000, 0x40200000,
        0xc0200000, 0x00000001, 0x807fffff, 0x007fffff, 0x00800000, 0x80800000, 0x7f7fffff,
        0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fc12345, 0x7f800001,
        0xff812345, 0x7fbfffff, 0x4f000000, 0xcf000000, 0x4effffff, 0xceffffff, 0x5f000000,
        0xdf000000, 0x5effffff, 0x4b800001, 0x3dcccccd, 0x00400000, 0x00800001, 0x4f800000};
    switch (below(6)) {
      case 0:
      case 1:
        return e[below(sizeof e / sizeof e[0])];
      case 2:
        return static_cast<uint32_t>(u64());
      case 3:  // tiny: results around the denormal range
        return static_cast<uint32_t>((u64() & 0x80000000) | ((below(24)) << 23) |
                                     (u64() & 0x7fffff));
      case 4:  // huge
        return static_cast<uint32_t>((u64() & 0x80000000) | ((230 + below(25)) << 23) |
                                     (u64() & 0x7fffff));
      default:  // moderate
        return static_cast<uint32_t>((u64() & 0x80000000) | ((97 + below(60)) << 23) |
                                     (u64() & 0x7fffff));
    }
  }
  uint64_t f64() {
    static const uint64_t e[] = {0,
                                 0x8000000000000000,
                                 0x3ff0000000000000,
                                 0xbff0000000000000,
                                 0x3fe0000000000000,
                                 0x3ff8000000000000,
                                 0x4004000000000000,
                                 0xc004000000000000,
                                 1,
                                 0x800fffffffffffff,
                                 0x000fffffffffffff,
                                 0x0010000000000000,
                                 0x8010000000000000,
                                 0x7fefffffffffffff,
                                 0xffefffffffffffff,
                                 0x7ff0000000000000,
                                 0xfff0000000000000,
                                 0x7ff8000000000000,
                                 0xfff8000000000000,
                                 0x7ff8000012345678,
                                 0x7ff0000000000001,
                                 0xfff0000012345678,
                                 0x7ff7ffffffffffff,
                                 0x41e0000000000000,
                                 0xc1e0000000000000,
                                 0x41dfffffffc00000,
                                 0x41dfffffffe00000,
                                 0xc1e0000000100000,
                                 0x43e0000000000000,
                                 0xc3e0000000000000,
                                 0x43dfffffffffffff,
                                 0x36a0000000000000,
                                 0x3810000000000000,
                                 0x47efffffe0000000,
                                 0x47efffff00000000,
                                 0x3690000000000001,
                                 0x3fb999999999999a};
    switch (below(6)) {
      case 0:
      case 1:
        return e[below(sizeof e / sizeof e[0])];
      case 2:
        return u64();
      case 3:
        return (u64() & 0x8000000000000000) | (static_cast<uint64_t>(below(60)) << 52) |
               (u64() & 0xfffffffffffff);
      case 4:  // around the float range limits, for CVTSD2SS
        return (u64() & 0x8000000000000000) |
               (static_cast<uint64_t>(below(2) ? 0x360 + below(40) : 0x460 + below(40)) << 52) |
               (u64() & 0xfffffffffffff);
      default:
        return (u64() & 0x8000000000000000) | (static_cast<uint64_t>(0x3c0 + below(100)) << 52) |
               (u64() & 0xfffffffffffff);
    }
  }
  // A shift count operand: mostly in range, sometimes at or past the width, sometimes huge.
  uint64_t count() {
    static const uint64_t c[] = {0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255};
    switch (below(4)) {
      case 0:
        return c[below(16)];
      case 1:
        return below(70);
      case 2:
        return u64();
      default:
        return (u64() & 0xffffffff00000000ull) | below(20);
    }
  }
  // Fills n bytes with lanes of kind vk.
  void fill(uint8_t* p, unsigned n, Vk vk) {
    Vk k = vk;
    for (unsigned i = 0; i < n;) {
      if (vk == Vk::Any) k = static_cast<Vk>(below(6));
      unsigned w;
      uint64_t v;
      switch (k) {
        case Vk::F32:
          w = 4;
          v = f32();
          break;
        case Vk::F64:
          w = 8;
          v = f64();
          break;
        case Vk::I8:
          w = 1;
          v = int_edge(1);
          break;
        case Vk::I16:
          w = 2;
          v = int_edge(2);
          break;
        case Vk::I32:
          w = 4;
          v = int_edge(4);
          break;
        case Vk::Count:
          w = 8;
          v = i % 16 == 0 ? count() : u64();
          break;
        default:
          w = 8;
          v = int_edge(8);
      }
      if (w > n - i) w = n - i;
      std::memcpy(p + i, &v, w);
      i += w;
    }
  }
  // An 80-bit x87 value: mant in the low 8 bytes, sign/exponent in bytes 8-9.
  void f80(uint8_t* p) {
    uint64_t m;
    uint16_t se;
    uint16_t sign = below(2) ? 0x8000 : 0;
    switch (below(10)) {
      case 0: {  // special encodings
        static const uint64_t ms[] = {0,
                                      0x8000000000000000,
                                      0xc000000000000000,
                                      0x8000000000000001,
                                      0x4000000000000000,
                                      0x0000000000000001,
                                      0xffffffffffffffff,
                                      0x7fffffffffffffff};
        static const uint16_t es[] = {0, 0x7fff, 1, 0x3fff, 0x7ffe};
        m = ms[below(8)];
        se = es[below(5)];
        break;
      }
      case 1:  // denormal or pseudo-denormal
        m = u64() >> below(64);
        se = 0;
        break;
      case 2:  // NaNs
        m = 0x8000000000000000 | (u64() >> 1);
        se = 0x7fff;
        break;
      case 3:  // integers near the int16/32/64 limits
        m = 0x8000000000000000 | (below(2) ? 0 : (u64() >> (1 + below(63))));
        se = static_cast<uint16_t>(0x3fff + (below(3) == 0 ? 15 : below(2) ? 31 : 63) - below(2));
        break;
      case 4:  // small integers and halves
        m = 0x8000000000000000 | (u64() & 0x7000000000000000);
        se = static_cast<uint16_t>(0x3ffe + below(6));
        break;
      case 5:  // near the double / float ranges
        m = 0x8000000000000000 | u64();
        se = static_cast<uint16_t>(below(2) ? 0x3c00 + below(4) - 2 + (below(2) ? 0x3ff : 0)
                                            : 0x3f80 + (below(2) ? 0x7f : -0x7e) - 12 + below(24));
        break;
      case 6:  // tiny / huge
        m = 0x8000000000000000 | u64();
        se = static_cast<uint16_t>(below(2) ? below(70) : 0x7fff - 1 - below(70));
        break;
      default:
        m = 0x8000000000000000 | u64();
        se = static_cast<uint16_t>(0x3fff - 40 + below(80));
        if (below(8) == 0) m &= ~0x8000000000000000;  // unnormal
    }
    se = static_cast<uint16_t>((se & 0x7fff) | sign);
    std::memcpy(p, &m, 8);
    std::memcpy(p + 8, &se, 2);
  }
  // A packed-BCD operand for FBLD: mostly valid digits.
  void bcd(uint8_t* p) {
    for (int i = 0; i < 9; i++) {
      unsigned lo = below(10), hi = below(10);
      if (below(50) == 0) lo = 10 + below(6);
      p[i] = static_cast<uint8_t>(lo | (hi << 4));
    }
    p[9] = below(2) ? 0x80 : 0;
    if (below(20) == 0) p[9] |= static_cast<uint8_t>(u64() & 0x7f);
  }

 private:
  uint64_t state_;
};

// A CpuState ready for SSE: CR0 with PE/MP/NE/ET (EM/TS clear), CR4.OSFXSR/OSXMMEXCPT.
inline CpuState sse_state() {
  CpuState s;
  s.cr0 = kCr0PE | kCr0MP | kCr0ET | kCr0NE;
  s.cr4 = kCr4OSFXSR | kCr4OSXMMEXCPT | kCr4PAE;
  enter_64bit_mode(s);
  return s;
}

// Loads the interpreter's x87/SSE state from a 64-bit FXSAVE image (test-side decoder).
inline void image_to_fpu(const uint8_t* img, FpuState* f) {
  uint16_t fsw;
  std::memcpy(&f->fcw, img + 0, 2);
  std::memcpy(&fsw, img + 2, 2);
  f->fsw = fsw & ~0x3800;
  f->top = (fsw >> 11) & 7;
  f->ftw = img[4];
  std::memcpy(&f->mxcsr, img + 24, 4);
  for (unsigned k = 0; k < 8; k++) {
    X87Reg& r = f->r[(f->top + k) & 7];
    std::memcpy(&r.mant, img + 32 + 16 * k, 8);
    std::memcpy(&r.sign_exp, img + 40 + 16 * k, 2);
  }
  std::memcpy(f->xmm, img + 160, 256);
}

// The architectural x87/SSE state compared by the tests (FIP/FDP/FOP/FCS/FDS excluded: newer
// CPUs only record them on unmasked exceptions).
struct FpView {
  uint16_t fcw, fsw;
  uint8_t ftw;
  uint32_t mxcsr;
  uint8_t st[8][10];
  uint8_t xmm[16][16];
};

inline FpView view_of_image(const uint8_t* img) {
  FpView v;
  std::memcpy(&v.fcw, img, 2);
  std::memcpy(&v.fsw, img + 2, 2);
  v.ftw = img[4];
  std::memcpy(&v.mxcsr, img + 24, 4);
  for (unsigned k = 0; k < 8; k++) std::memcpy(v.st[k], img + 32 + 16 * k, 10);
  std::memcpy(v.xmm, img + 160, 256);
  return v;
}

inline FpView view_of_state(const FpuState& f) {
  FpView v;
  v.fcw = f.fcw;
  v.fsw = static_cast<uint16_t>((f.fsw & ~0x3800) | (f.top << 11));
  v.ftw = f.ftw;
  v.mxcsr = f.mxcsr;
  for (unsigned k = 0; k < 8; k++) {
    const X87Reg& r = f.r[(f.top + k) & 7];
    std::memcpy(v.st[k], &r.mant, 8);
    std::memcpy(v.st[k] + 8, &r.sign_exp, 2);
  }
  std::memcpy(v.xmm, f.xmm, 256);
  return v;
}

inline std::string hex(const uint8_t* p, unsigned n) {
  std::string s;
  char b[4];
  for (unsigned i = n; i-- > 0;) {
    std::snprintf(b, sizeof b, "%02x", p[i]);
    s += b;
  }
  return s;
}

// Describes the differences between two views ("" when equal).
inline std::string diff_views(const FpView& a, const FpView& b) {
  std::string w;
  char buf[160];
  if (a.fcw != b.fcw) {
    std::snprintf(buf, sizeof buf, " fcw %04x/%04x", a.fcw, b.fcw);
    w += buf;
  }
  if (a.fsw != b.fsw) {
    std::snprintf(buf, sizeof buf, " fsw %04x/%04x", a.fsw, b.fsw);
    w += buf;
  }
  if (a.ftw != b.ftw) {
    std::snprintf(buf, sizeof buf, " ftw %02x/%02x", a.ftw, b.ftw);
    w += buf;
  }
  if (a.mxcsr != b.mxcsr) {
    std::snprintf(buf, sizeof buf, " mxcsr %08x/%08x", a.mxcsr, b.mxcsr);
    w += buf;
  }
  for (unsigned k = 0; k < 8; k++)
    if (std::memcmp(a.st[k], b.st[k], 10))
      w += " st" + std::to_string(k) + " " + hex(a.st[k], 10) + "/" + hex(b.st[k], 10);
  for (unsigned k = 0; k < 16; k++)
    if (std::memcmp(a.xmm[k], b.xmm[k], 16))
      w += " xmm" + std::to_string(k) + " " + hex(a.xmm[k], 16) + "/" + hex(b.xmm[k], 16);
  return w;
}

}  // namespace machina::x86::test
