// x87 instructions executed on the host's own x87 unit: the guest's x87 state is loaded with
// FRSTOR, the instruction runs with its ST(i) or memory operand, and FNSAVE (which does not
// wait for pending exceptions) takes the state back. Results, condition codes, stack faults,
// the QNaN indefinite, precision and rounding control, unmasked-exception behaviour and the
// transcendental functions are therefore those of the host x86-64 CPU, bit for bit.
#pragma once

#include <cstdint>

namespace machina::x86::x87_host {

// The FNSAVE/FRSTOR image in the 32-bit protected-mode format (108 bytes); st[k] is ST(k).
struct Image {
  uint16_t fcw, fcw_hi;
  uint16_t fsw, fsw_hi;
  uint16_t ftw, ftw_hi;
  uint32_t fip;
  uint16_t fcs, fop;
  uint32_t fdp;
  uint16_t fds, fds_hi;
  uint8_t st[8][10];
};
static_assert(sizeof(Image) == 108);

// Runs the x87 instruction 0xD8+esc with ModRM `modrm` on the host. Register forms use their
// own ModRM; memory forms must be given as (reg << 3) | 1 and access `mem` (at least 10 bytes).
// *ah is loaded into SF/ZF/AF/PF/CF before (FCMOVcc) and receives them after (FCOMI).
// Returns false, executing nothing, for an encoding outside the table (control instructions,
// reserved encodings).
bool run(unsigned esc, unsigned modrm, Image* img, void* mem, uint8_t* ah);

}  // namespace machina::x86::x87_host
