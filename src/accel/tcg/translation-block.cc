// Translation blocks: see translation-block.h.
#include "accel/tcg/translation-block.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace machina::tcg {

using x86::DecodedInsn;

namespace {

// Instructions after which straight-line decoding stops: control transfers other than
// conditional jumps (what follows an unconditional one is often data; a block goes on past a
// Jcc, and is left where the jump is taken) and HLT.
bool ends_block(const DecodedInsn& d) {
  unsigned op = d.opcode;
  switch (op) {
    case 0x9a:  // CALL far
    case 0xc2:
    case 0xc3:  // RET
    case 0xca:
    case 0xcb:  // RET far
    case 0xcc:
    case 0xcd:
    case 0xce:           // INT3, INT, INTO
    case 0xcf:           // IRET
    case 0xe0 ... 0xe3:  // LOOPcc, JrCXZ
    case 0xe8:
    case 0xe9:
    case 0xea:
    case 0xeb:  // CALL, JMP
    case 0xf4:  // HLT
    case 0x105:
    case 0x107:  // SYSCALL, SYSRET
    case 0x10b:  // UD2
    case 0x134:
    case 0x135:  // SYSENTER, SYSEXIT
      return true;
    case 0xff:  // CALL/JMP indirect and far
      return d.reg >= 2 && d.reg <= 5;
    default:
      return false;
  }
}

}  // namespace

TbCache::TbCache()
    // Not value-initialized: only the part blocks are written to becomes resident.
    : arena_(new uint64_t[kArenaBytes / 8]),
      index_(static_cast<const TranslationBlock**>(
          std::calloc(size_t{1} << kIndexBits, sizeof(const TranslationBlock*)))) {
  if (!index_) throw std::bad_alloc();
}

void TbCache::flush() {
  std::fill(index_.get(), index_.get() + (size_t{1} << kIndexBits), nullptr);
  used_ = 0;
  flushes_++;
}

bool TbCache::still_valid(const TranslationBlock* tb, const uint8_t* host, uint64_t writes,
                          bool* checked) const {
  if (tb->checked_at == writes) {
    *checked = false;
    return true;
  }
  *checked = true;
  if (std::memcmp(tb->bytes(), host, tb->nbytes) != 0) return false;
  tb->checked_at = writes;
  return true;
}

const TranslationBlock* TbCache::get(uint64_t paddr, const uint8_t* host, unsigned avail,
                                     uint64_t writes, bool* checked) {
  const TranslationBlock* tb = index_[slot(paddr)];
  if (tb && tb->paddr == paddr && tb->nbytes <= avail && still_valid(tb, host, writes, checked))
    return tb;
  *checked = true;
  tb = translate(paddr, host, avail);
  if (tb) tb->checked_at = writes;
  return tb;
}

const TranslationBlock* TbCache::translate(uint64_t paddr, const uint8_t* host, unsigned avail) {
  DecodedInsn insns[kMaxInsns];
  unsigned n = 0, bytes = 0;
  while (n < kMaxInsns && bytes < avail) {
    unsigned left = avail - bytes;
    if (x86::decode(host + bytes, left < 15 ? left : 15, &insns[n]) != x86::DecodeStatus::Ok) break;
    bytes += insns[n].len;
    if (ends_block(insns[n++])) break;
  }
  if (n == 0) return nullptr;

  size_t need = sizeof(TranslationBlock) + (n + 1) * sizeof(x86::FastInsn) + bytes;
  need = (need + 7) & ~size_t{7};
  if (used_ + need > kArenaBytes) flush();
  auto* tb = new (reinterpret_cast<uint8_t*>(arena_.get()) + used_) TranslationBlock;
  used_ += need;
  tb->paddr = paddr;
  tb->nbytes = static_cast<uint16_t>(bytes);
  tb->ninsn = static_cast<uint16_t>(n);
  auto* dst = const_cast<x86::FastInsn*>(tb->insns());
  uint64_t offset = 0;
  for (unsigned i = 0; i < n; i++) {
    const DecodedInsn& d = insns[i];
    x86::FastOp op = x86::select_fast_op(d);
    // A near jump back to this block's first instruction: the block goes round in its handlers.
    offset += d.len;
    if (offset + d.imm == 0) {  // modulo 2^64: a displacement of -offset
      if (x86::FastOp loop = x86::select_fast_loop_op(d)) op = loop;
    }
    new (&dst[i]) x86::FastInsn{op, i, d};
  }
  new (&dst[n]) x86::FastInsn{&x86::fast_end_of_block, n, {}};
  std::memcpy(const_cast<uint8_t*>(tb->bytes()), host, bytes);
  index_[slot(paddr)] = tb;
  translations_++;
  return tb;
}

}  // namespace machina::tcg
