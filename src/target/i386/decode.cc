// x86-64 instruction decoder.
#include "target/i386/decode.h"

namespace machina::x86 {

namespace {

// Immediate kinds: none, byte, word, 16/32 by operand size, full operand size, address size
// (moffs), word + byte (ENTER), far pointer (16/32-bit offset, then a selector).
enum : uint8_t { I_NONE, I_B, I_W, I_Z, I_V, I_A, I_WB, I_P };

struct OpInfo {
  bool modrm;
  uint8_t imm;
  bool valid;
};

constexpr OpInfo kNone{false, I_NONE, true};
constexpr OpInfo kModrm{true, I_NONE, true};
constexpr OpInfo kInvalid{false, I_NONE, false};

OpInfo one_byte_info(uint8_t op) {
  if (op < 0x40) {
    uint8_t lo = op & 7;
    if (lo <= 3) return kModrm;
    if (lo == 4) return {false, I_B, true};
    if (lo == 5) return {false, I_Z, true};
    return kInvalid;  // segment push/pop, BCD adjust: invalid in 64-bit mode
  }
  if (op >= 0x50 && op <= 0x5f) return kNone;
  if (op >= 0x70 && op <= 0x7f) return {false, I_B, true};
  if (op >= 0x84 && op <= 0x8f) return kModrm;
  if (op >= 0x90 && op <= 0x99) return kNone;
  if (op >= 0xa4 && op <= 0xa7) return kNone;
  if (op >= 0xaa && op <= 0xaf) return kNone;
  if (op >= 0xb0 && op <= 0xb7) return {false, I_B, true};
  if (op >= 0xb8 && op <= 0xbf) return {false, I_V, true};
  if (op >= 0xd0 && op <= 0xd3) return kModrm;
  if (op >= 0xd8 && op <= 0xdf) return kModrm;  // x87
  if (op >= 0xe0 && op <= 0xe7) return {false, I_B, true};
  if (op >= 0xec && op <= 0xef) return kNone;
  if (op >= 0xf8 && op <= 0xfd) return kNone;
  switch (op) {
    case 0x63:
    case 0xfe:
    case 0xff:
    case 0xf6:
    case 0xf7:  // F6/F7: the immediate depends on ModRM.reg
      return kModrm;
    case 0x68:
    case 0xe8:
    case 0xe9:
    case 0xa9:
      return {false, I_Z, true};
    case 0x6a:
    case 0xeb:
    case 0xa8:
    case 0xcd:
      return {false, I_B, true};
    case 0x69:
    case 0x81:
    case 0xc7:
      return {true, I_Z, true};
    case 0x6b:
    case 0x80:
    case 0x83:
    case 0xc0:
    case 0xc1:
    case 0xc6:
      return {true, I_B, true};
    case 0xa0:
    case 0xa1:
    case 0xa2:
    case 0xa3:
      return {false, I_A, true};
    case 0xc2:
    case 0xca:
      return {false, I_W, true};
    case 0xc8:
      return {false, I_WB, true};
    case 0x6c:
    case 0x6d:
    case 0x6e:
    case 0x6f:
    case 0x9b:
    case 0x9c:
    case 0x9d:
    case 0x9e:
    case 0x9f:
    case 0xc3:
    case 0xc9:
    case 0xcb:
    case 0xcc:
    case 0xcf:
    case 0xd7:
    case 0xf1:
    case 0xf4:
    case 0xf5:
      return kNone;
  }
  return kInvalid;
}

// Opcodes that exist outside 64-bit mode only (16- and 32-bit code segments).
OpInfo legacy_only_info(uint8_t op) {
  switch (op) {
    case 0x06:  // PUSH/POP ES, PUSH CS, PUSH/POP SS, PUSH/POP DS
    case 0x07:
    case 0x0e:
    case 0x16:
    case 0x17:
    case 0x1e:
    case 0x1f:
    case 0x27:  // DAA, DAS, AAA, AAS
    case 0x2f:
    case 0x37:
    case 0x3f:
    case 0x40 ... 0x4f:  // INC/DEC r16/r32
    case 0x60:           // PUSHA, POPA
    case 0x61:
    case 0xce:  // INTO
    case 0xd6:  // SALC
      return kNone;
    case 0x62:  // BOUND
    case 0x63:  // ARPL
    case 0xc4:  // LES, LDS
    case 0xc5:
      return kModrm;
    case 0x82:  // an alias of 0x80
      return {true, I_B, true};
    case 0xd4:  // AAM, AAD
    case 0xd5:
      return {false, I_B, true};
    case 0x9a:  // CALL ptr16:16/32, JMP ptr16:16/32
    case 0xea:
      return {false, I_P, true};
  }
  return kInvalid;
}

OpInfo two_byte_info(uint8_t op) {
  if (op >= 0x10 && op <= 0x17) return kModrm;  // SSE moves
  if (op >= 0x18 && op <= 0x1f) return kModrm;  // hint NOPs, prefetch
  if (op >= 0x20 && op <= 0x23) return kModrm;  // MOV CR/DR (always register form)
  if (op >= 0x28 && op <= 0x2f) return kModrm;
  if (op >= 0x40 && op <= 0x4f) return kModrm;  // CMOVcc
  if (op >= 0x50 && op <= 0x6f) return kModrm;
  if (op >= 0x70 && op <= 0x73) return {true, I_B, true};
  if (op >= 0x74 && op <= 0x76) return kModrm;
  if (op >= 0x7e && op <= 0x7f) return kModrm;
  if (op >= 0x80 && op <= 0x8f) return {false, I_Z, true};
  if (op >= 0x90 && op <= 0x9f) return kModrm;
  if (op >= 0xc8 && op <= 0xcf) return kNone;  // BSWAP
  if (op >= 0xd0) return kModrm;               // SSE2 integer, UD0 (FF)
  switch (op) {
    case 0x00:
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x0d:
    case 0xa3:
    case 0xa5:
    case 0xab:
    case 0xad:
    case 0xae:
    case 0xaf:
    case 0xb0:
    case 0xb1:
    case 0xb2:
    case 0xb3:
    case 0xb4:
    case 0xb5:
    case 0xb6:
    case 0xb7:
    case 0xb8:
    case 0xb9:
    case 0xbb:
    case 0xbc:
    case 0xbd:
    case 0xbe:
    case 0xbf:
    case 0xc0:
    case 0xc1:
    case 0xc3:
    case 0xc7:
      return kModrm;
    case 0xa4:
    case 0xac:
    case 0xba:
    case 0xc2:
    case 0xc4:
    case 0xc5:
    case 0xc6:
      return {true, I_B, true};
    case 0x05:
    case 0x06:
    case 0x07:
    case 0x08:
    case 0x09:
    case 0x0b:
    case 0x30:
    case 0x31:
    case 0x32:
    case 0x33:
    case 0x34:
    case 0x35:
    case 0x77:
    case 0xa0:
    case 0xa1:
    case 0xa2:
    case 0xa8:
    case 0xa9:
    case 0xaa:
      return kNone;
  }
  return kInvalid;
}

}  // namespace

namespace {

// The base and index registers of the eight 16-bit ModRM memory forms ([BX+SI] ... [BX]).
constexpr uint8_t kBX = 3, kBP = 5, kSI = 6, kDI = 7;
constexpr uint8_t kModrm16Base[8] = {kBX, kBX, kBP, kBP, kNoReg, kNoReg, kBP, kBX};
constexpr uint8_t kModrm16Index[8] = {kSI, kDI, kSI, kDI, kSI, kDI, kNoReg, kNoReg};

}  // namespace

bool legacy_only_opcode(unsigned opcode) {
  return opcode < 0x100 && legacy_only_info(static_cast<uint8_t>(opcode)).valid;
}

DecodeStatus decode(const uint8_t* bytes, unsigned avail, DecodedInsn* out, CodeMode mode) {
  DecodedInsn d;
  const bool mode64 = mode == CodeMode::k64;
  const bool wide = mode != CodeMode::k16;  // 32-bit default operand and address size
  d.legacy = !mode64;
  d.addrsize = mode64 ? 8 : (wide ? 4 : 2);
  unsigned limit = avail < 15 ? avail : 15;
  unsigned pos = 0;
  auto need = [&](unsigned n) { return pos + n <= limit; };
  // Legacy prefixes, then an optional REX immediately before the opcode.
  for (;;) {
    if (!need(1)) return avail >= 15 ? DecodeStatus::Invalid : DecodeStatus::Truncated;
    uint8_t b = bytes[pos];
    bool prefix = true;
    switch (b) {
      case 0x66:
        d.opsize_prefix = true;
        break;
      case 0x67:
        d.addrsize = mode64 ? 4 : (wide ? 2 : 4);
        break;
      case 0xf0:
        d.lock = true;
        break;
      case 0xf2:
        d.repne = true;
        d.rep = false;
        break;
      case 0xf3:
        d.rep = true;
        d.repne = false;
        break;
      case 0x26:
        d.seg = kSegES;
        break;
      case 0x2e:
        d.seg = kSegCS;
        break;
      case 0x36:
        d.seg = kSegSS;
        break;
      case 0x3e:
        d.seg = kSegDS;
        break;
      case 0x64:
        d.seg = kSegFS;
        break;
      case 0x65:
        d.seg = kSegGS;
        break;
      default:
        prefix = false;
    }
    if (mode64 && (b & 0xf0) == 0x40) {
      d.rex = b;  // only effective if it immediately precedes the opcode
      pos++;
      continue;
    }
    if (!prefix) break;
    d.rex = 0;  // a REX followed by a legacy prefix is ignored
    pos++;
  }
  if (!need(1)) return avail >= 15 ? DecodeStatus::Invalid : DecodeStatus::Truncated;
  bool rex_w = d.rex & 8;
  d.opsize = rex_w ? 8 : ((d.opsize_prefix != wide) ? 4 : 2);
  uint8_t op = bytes[pos++];
  OpInfo info;
  if (op == 0x0f) {
    if (!need(1)) return avail >= 15 ? DecodeStatus::Invalid : DecodeStatus::Truncated;
    uint8_t op2 = bytes[pos++];
    d.opcode = 0x100 | op2;
    info = two_byte_info(op2);
  } else {
    d.opcode = op;
    info = one_byte_info(op);
    if (!mode64) {
      OpInfo legacy = legacy_only_info(op);
      if (legacy.valid) info = legacy;
    }
  }
  if (!info.valid) return DecodeStatus::Invalid;
  uint8_t imm_kind = info.imm;
  if (info.modrm) {
    if (!need(1)) return avail >= 15 ? DecodeStatus::Invalid : DecodeStatus::Truncated;
    uint8_t m = bytes[pos++];
    if (d.opcode >= 0x120 && d.opcode <= 0x123) m |= 0xc0;  // MOV CR/DR ignore ModRM.mod
    d.has_modrm = true;
    d.mod = m >> 6;
    d.reg = ((m >> 3) & 7) | ((d.rex & 4) << 1);
    uint8_t rm = m & 7;
    d.rm = rm | ((d.rex & 1) << 3);
    if (d.mod != 3 && d.addrsize == 2) {
      unsigned disp_size = d.mod == 1 ? 1 : (d.mod == 2 ? 2 : 0);
      if (d.mod == 0 && rm == 6) {
        disp_size = 2;  // [disp16]
      } else {
        d.base = kModrm16Base[rm];
        d.index = kModrm16Index[rm];
      }
      if (!need(disp_size)) return avail >= 15 ? DecodeStatus::Invalid : DecodeStatus::Truncated;
      if (disp_size == 1) {
        d.disp = static_cast<int8_t>(bytes[pos]);
      } else if (disp_size == 2) {
        int16_t v;
        __builtin_memcpy(&v, bytes + pos, 2);
        d.disp = v;
      }
      pos += disp_size;
    } else if (d.mod != 3) {
      unsigned disp_size = d.mod == 1 ? 1 : (d.mod == 2 ? 4 : 0);
      if (rm == 4) {
        if (!need(1)) return avail >= 15 ? DecodeStatus::Invalid : DecodeStatus::Truncated;
        uint8_t sib = bytes[pos++];
        d.scale = sib >> 6;
        uint8_t idx = ((sib >> 3) & 7) | ((d.rex & 2) << 2);
        d.index = idx == 4 ? kNoReg : idx;
        uint8_t base = sib & 7;
        if (base == 5 && d.mod == 0) {
          d.base = kNoReg;
          disp_size = 4;
        } else {
          d.base = base | ((d.rex & 1) << 3);
        }
      } else if (rm == 5 && d.mod == 0) {
        d.rip_relative = mode64;  // outside 64-bit mode: [disp32]
        disp_size = 4;
      } else {
        d.base = d.rm;
      }
      if (!need(disp_size)) return avail >= 15 ? DecodeStatus::Invalid : DecodeStatus::Truncated;
      if (disp_size == 1) {
        d.disp = static_cast<int8_t>(bytes[pos]);
      } else if (disp_size == 4) {
        int32_t v;
        __builtin_memcpy(&v, bytes + pos, 4);
        d.disp = v;
      }
      pos += disp_size;
    }
    if ((op == 0xf6 || op == 0xf7) && d.opcode == op && (d.reg & 7) < 2)
      imm_kind = op == 0xf6 ? I_B : I_Z;
  }
  unsigned imm_size = 0;
  switch (imm_kind) {
    case I_B:
      imm_size = 1;
      break;
    case I_W:
      imm_size = 2;
      break;
    case I_Z:
      // In 64-bit mode near branches take a 32-bit displacement whatever the operand size.
      imm_size =
          d.opsize == 2 &&
                  (!mode64 || (d.opcode != 0xe8 && d.opcode != 0xe9 && (d.opcode & 0x1f0) != 0x180))
              ? 2
              : 4;
      break;
    case I_V:
      imm_size = d.opsize;
      break;
    case I_A:
      imm_size = d.addrsize;
      break;
    case I_WB:
      imm_size = 3;
      break;
    case I_P:
      imm_size = d.opsize == 2 ? 4 : 6;
      break;
  }
  if (!need(imm_size)) return avail >= 15 ? DecodeStatus::Invalid : DecodeStatus::Truncated;
  switch (imm_size) {
    case 1:
      d.imm = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(bytes[pos])));
      break;
    case 2: {
      int16_t v;
      __builtin_memcpy(&v, bytes + pos, 2);
      d.imm = imm_kind == I_A ? static_cast<uint16_t>(v)
                              : static_cast<uint64_t>(static_cast<int64_t>(v));
      break;
    }
    case 3: {  // ENTER: imm16 frame size, imm8 nesting level
      uint16_t v;
      __builtin_memcpy(&v, bytes + pos, 2);
      d.imm = v;
      d.imm2 = bytes[pos + 2];
      break;
    }
    case 4: {
      int32_t v;
      __builtin_memcpy(&v, bytes + pos, 4);
      if (imm_kind == I_P) {  // ptr16:16
        d.imm = static_cast<uint16_t>(v);
        d.sel = static_cast<uint16_t>(static_cast<uint32_t>(v) >> 16);
      } else {
        d.imm = imm_kind == I_A ? static_cast<uint64_t>(static_cast<uint32_t>(v))
                                : static_cast<uint64_t>(static_cast<int64_t>(v));
      }
      break;
    }
    case 6: {  // ptr16:32
      uint32_t off;
      uint16_t sel;
      __builtin_memcpy(&off, bytes + pos, 4);
      __builtin_memcpy(&sel, bytes + pos + 4, 2);
      d.imm = off;
      d.sel = sel;
      break;
    }
    case 8:
      __builtin_memcpy(&d.imm, bytes + pos, 8);
      break;
  }
  pos += imm_size;
  d.len = static_cast<uint8_t>(pos);
  *out = d;
  return DecodeStatus::Ok;
}

}  // namespace machina::x86
