// The table of x87 instructions run on the host (see fpu-host.h): one asm statement per
// encoding, so the instruction bytes are fixed at build time.
#include "target/i386/fpu-host.h"

namespace machina::x86::x87_host {

// One encoding: keep the host control word, load flags and the guest state, execute, save.
#define X87(esc, modrm)                                                                     \
  case ((esc) << 8) | (modrm):                                                              \
    asm volatile("fnstcw %[hcw]\n\tsahf\n\tfrstor %[img]\n\t.byte 0xd8+(" #esc "), " #modrm \
                 "\n\tfnsave %[img]\n\tfldcw %[hcw]\n\tlahf"                                \
                 : [img] "+m"(*img), [hcw] "+m"(hcw), "+a"(ax)                              \
                 : "c"(mem)                                                                 \
                 : "memory", "cc");                                                         \
    break;
// The eight ST(i) forms of one ModRM.reg value.
#define X87_ST(esc, r)            \
  X87(esc, 0xc0 + ((r) << 3) + 0) \
  X87(esc, 0xc0 + ((r) << 3) + 1) \
  X87(esc, 0xc0 + ((r) << 3) + 2) \
  X87(esc, 0xc0 + ((r) << 3) + 3) \
  X87(esc, 0xc0 + ((r) << 3) + 4) \
  X87(esc, 0xc0 + ((r) << 3) + 5) \
  X87(esc, 0xc0 + ((r) << 3) + 6) \
  X87(esc, 0xc0 + ((r) << 3) + 7)
// A memory form, addressing [rcx].
#define X87_M(esc, r) X87(esc, ((r) << 3) | 1)
#define X87_M8(esc) \
  X87_M(esc, 0)     \
  X87_M(esc, 1) X87_M(esc, 2) X87_M(esc, 3) X87_M(esc, 4) X87_M(esc, 5) X87_M(esc, 6) X87_M(esc, 7)
#define X87_ST8(esc) \
  X87_ST(esc, 0)     \
  X87_ST(esc, 1)     \
  X87_ST(esc, 2) X87_ST(esc, 3) X87_ST(esc, 4) X87_ST(esc, 5) X87_ST(esc, 6) X87_ST(esc, 7)

bool run(unsigned esc, unsigned modrm, Image* img, void* mem, uint8_t* ah) {
  uint16_t hcw = 0, ax = static_cast<uint16_t>(*ah << 8);
  switch ((esc << 8) | modrm) {
    // D8: arithmetic and compares with m32fp / ST(i).
    X87_M8(0)
    X87_ST8(0)
    // D9: FLD/FST/FSTP m32fp; FLD ST(i), FXCH, FSTP1 alias; FNOP; FCHS..FCOS.
    X87_M(1, 0)
    X87_M(1, 2)
    X87_M(1, 3)
    X87_ST(1, 0)
    X87_ST(1, 1)
    X87_ST(1, 3)
    X87(1, 0xd0)
    X87(1, 0xe0)
    X87(1, 0xe1)
    X87(1, 0xe4)
    X87(1, 0xe5)
    X87(1, 0xe8)
    X87(1, 0xe9)
    X87(1, 0xea)
    X87(1, 0xeb)
    X87(1, 0xec)
    X87(1, 0xed)
    X87(1, 0xee)
    X87(1, 0xf0)
    X87(1, 0xf1)
    X87(1, 0xf2)
    X87(1, 0xf3)
    X87(1, 0xf4)
    X87(1, 0xf5)
    X87(1, 0xf6)
    X87(1, 0xf7)
    X87(1, 0xf8)
    X87(1, 0xf9)
    X87(1, 0xfa)
    X87(1, 0xfb)
    X87(1, 0xfc)
    X87(1, 0xfd)
    X87(1, 0xfe)
    X87(1, 0xff)
    // DA: m32int arithmetic; FCMOVB/E/BE/U; FUCOMPP.
    X87_M8(2)
    X87_ST(2, 0)
    X87_ST(2, 1)
    X87_ST(2, 2)
    X87_ST(2, 3)
    X87(2, 0xe9)
    // DB: FILD/FISTTP/FIST/FISTP m32int, FLD/FSTP m80; FCMOVNB/NE/NBE/NU, FUCOMI, FCOMI.
    X87_M(3, 0)
    X87_M(3, 1)
    X87_M(3, 2)
    X87_M(3, 3)
    X87_M(3, 5)
    X87_M(3, 7)
    X87_ST(3, 0)
    X87_ST(3, 1)
    X87_ST(3, 2)
    X87_ST(3, 3)
    X87_ST(3, 5)
    X87_ST(3, 6)
    // DC: m64fp arithmetic; ST(i) = ST(i) op ST(0) (and the FCOM2/FCOMP3 aliases).
    X87_M8(4)
    X87_ST8(4)
    // DD: FLD/FISTTP/FST/FSTP m64; FFREE, FXCH4 alias, FST, FSTP, FUCOM, FUCOMP.
    X87_M(5, 0)
    X87_M(5, 1)
    X87_M(5, 2)
    X87_M(5, 3)
    X87_ST(5, 0)
    X87_ST(5, 1)
    X87_ST(5, 2)
    X87_ST(5, 3)
    X87_ST(5, 4)
    X87_ST(5, 5)
    // DE: m16int arithmetic; the popping ST(i) forms, FCOMP5 alias, FCOMPP.
    X87_M8(6)
    X87_ST(6, 0)
    X87_ST(6, 1)
    X87_ST(6, 2)
    X87_ST(6, 4)
    X87_ST(6, 5)
    X87_ST(6, 6)
    X87_ST(6, 7)
    X87(6, 0xd9)
    // DF: FILD/FISTTP/FIST/FISTP m16int, FBLD, FILD m64, FBSTP, FISTP m64; FFREEP, FXCH7,
    // FSTP8/FSTP9 aliases, FUCOMIP, FCOMIP.
    X87_M8(7)
    X87_ST(7, 0)
    X87_ST(7, 1)
    X87_ST(7, 2)
    X87_ST(7, 3)
    X87_ST(7, 5)
    X87_ST(7, 6)
    default:
      return false;
  }
  *ah = static_cast<uint8_t>(ax >> 8);
  return true;
}

}  // namespace machina::x86::x87_host
