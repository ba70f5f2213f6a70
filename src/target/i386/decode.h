// x86 instruction decoder: prefixes, REX, ModRM/SIB (and the 16-bit ModRM forms), displacement,
// immediates, for 64-bit mode and for the 16- and 32-bit code segments of real, protected and
// compatibility mode.
#pragma once

#include <cstdint>

namespace machina::x86 {

inline constexpr uint8_t kNoReg = 0xff;

enum SegOverride : uint8_t { kSegNone, kSegES, kSegCS, kSegSS, kSegDS, kSegFS, kSegGS };

struct DecodedInsn {
  uint8_t len = 0;
  uint16_t opcode = 0;  // one-byte map: 0x00-0xff; 0F map: 0x100-0x1ff
  uint8_t opsize = 4;   // operand size in bytes: 2, 4 or 8
  uint8_t addrsize = 8;
  uint8_t rex = 0;  // the REX byte, 0 if none
  bool lock = false, rep = false, repne = false, opsize_prefix = false;
  uint8_t seg = kSegNone;
  bool has_modrm = false;
  uint8_t mod = 0;
  uint8_t reg = 0;  // ModRM.reg extended by REX.R
  uint8_t rm = 0;   // ModRM.rm extended by REX.B (register operand when mod == 3)
  // Memory operand (mod != 3): base/index are kNoReg when absent.
  uint8_t base = kNoReg, index = kNoReg, scale = 0;
  bool rip_relative = false;
  int64_t disp = 0;
  uint64_t imm = 0;     // sign-extended where the encoding says so
  uint8_t imm2 = 0;     // second immediate (ENTER's nesting level)
  uint16_t sel = 0;     // far pointer's selector (JMP/CALL ptr16:16/32)
  bool legacy = false;  // decoded for a 16- or 32-bit code segment (not 64-bit mode)
};

// The code segment's default sizes: 64-bit mode (CS.L in long mode), or a 32-bit (CS.D) or
// 16-bit code segment of real, protected, virtual-8086 or compatibility mode.
enum class CodeMode : uint8_t { k16, k32, k64 };

enum class DecodeStatus { Ok, Truncated, Invalid };

// Decodes one instruction from `bytes` (at most `avail` bytes, at most 15 used).
DecodeStatus decode(const uint8_t* bytes, unsigned avail, DecodedInsn* out,
                    CodeMode mode = CodeMode::k64);

// Whether `opcode` (a DecodedInsn::opcode) exists only outside 64-bit mode (PUSH/POP of ES, CS,
// SS and DS, the one-byte INC/DEC, PUSHA/POPA, BOUND, ARPL, LES/LDS, far CALL/JMP ptr, INTO,
// AAM/AAD, SALC, the BCD adjustments, 0x82) or means something else there.
bool legacy_only_opcode(unsigned opcode);

}  // namespace machina::x86
