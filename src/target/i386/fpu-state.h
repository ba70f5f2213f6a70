// x87, MMX and SSE register state of an x86 CPU (the FXSAVE image's contents).
#pragma once

#include <cstdint>

namespace machina::x86 {

struct alignas(16) XmmReg {
  uint64_t q[2];
};

// One x87 physical register: the 64-bit significand (bit 63 is the explicit integer bit) and
// the sign and 15-bit exponent, kept as raw bits (never loaded into a host long double, which
// would quiet signalling NaNs and reject unsupported encodings). The 16-byte slot matches the
// FXSAVE layout. MMX register i is `mant` of R[i]; MMX writes set `sign_exp` to 0xffff.
struct X87Reg {
  uint64_t mant = 0;
  uint16_t sign_exp = 0;
  uint16_t pad[3] = {};
};

// FSW bits.
inline constexpr uint16_t kFswIE = 1u << 0, kFswDE = 1u << 1, kFswZE = 1u << 2, kFswOE = 1u << 3,
                          kFswUE = 1u << 4, kFswPE = 1u << 5, kFswSF = 1u << 6, kFswES = 1u << 7,
                          kFswC0 = 1u << 8, kFswC1 = 1u << 9, kFswC2 = 1u << 10, kFswC3 = 1u << 14,
                          kFswB = 1u << 15;
inline constexpr uint16_t kFswCC = kFswC0 | kFswC1 | kFswC2 | kFswC3;
inline constexpr uint16_t kFswExc = 0x3f;  // IE..PE
// MXCSR bits.
inline constexpr uint32_t kMxcsrFlags = 0x3f, kMxcsrDAZ = 1u << 6, kMxcsrMasks = 0x3fu << 7,
                          kMxcsrFTZ = 1u << 15;
// Writable MXCSR bits (the MXCSR_MASK that FXSAVE reports); the others are reserved (#GP).
inline constexpr uint32_t kMxcsrMask = 0xffff;

struct FpuState {
  // x87 physical registers R0..R7; ST(i) is r[(top + i) & 7].
  X87Reg r[8];
  uint16_t fcw = 0x037f;  // control word (FNINIT value)
  uint16_t fsw = 0;       // status word without TOP (bits 11-13 are kept in `top`)
  uint8_t top = 0;
  uint8_t ftw = 0;   // abridged tag word as in FXSAVE: bit i set = R[i] not empty
  uint16_t fop = 0;  // last non-control instruction's opcode (11 bits)
  uint64_t fip = 0, fdp = 0;
  uint16_t fcs = 0, fds = 0;
  uint32_t mxcsr = 0x1f80;
  XmmReg xmm[16] = {};

  uint16_t status_word() const { return static_cast<uint16_t>((fsw & ~0x3800u) | (top << 11)); }
  void set_status_word(uint16_t v) {
    fsw = v & ~0x3800u;
    top = (v >> 11) & 7;
  }
};

}  // namespace machina::x86
