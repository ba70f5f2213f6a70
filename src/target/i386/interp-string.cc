// String instructions (MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS) with REP/REPE/REPNE.
//
// A REP instruction runs at most kMaxBytesPerStep bytes per execution and then ends without
// advancing RIP, so that interrupts are taken between chunks; RSI/RDI/RCX always describe the
// iterations done. MOVS and STOS with DF clear move whole chunks at a time.
#include <algorithm>
#include <cstring>

#include "target/i386/exec.h"

namespace machina::x86 {

namespace {

constexpr unsigned kMaxBytesPerStep = 64 * 1024;
constexpr unsigned kChunk = 512;

}  // namespace

StepResult Exec::string_op() {
  unsigned op = d_.opcode;
  unsigned sz = byte_or_op(op);
  bool rep = d_.rep || d_.repne;
  uint64_t amask = mask_of(d_.addrsize);
  auto rcx = [&] { return s_.regs[RCX] & amask; };
  auto set_rcx = [&](uint64_t v) { set_reg(RCX, d_.addrsize, v); };
  auto set_idx = [&](unsigned r, uint64_t v) { set_reg(r, d_.addrsize, v & amask); };
  int64_t step = (s_.flags_other & kDF) ? -int64_t(sz) : int64_t(sz);
  // Sources are in DS (or the override), destinations in ES; outside 64-bit mode both have a
  // base and linear addresses wrap at 4 GiB.
  uint64_t src_base = seg_base(d_.seg == kSegNone ? unsigned{kSegDS} : unsigned{d_.seg});
  uint64_t dst_base = seg_base(d_.legacy ? unsigned{kSegES} : unsigned{kSegNone});
  uint64_t lmask = d_.legacy ? 0xffffffffu : ~uint64_t{0};
  auto src_at = [&](uint64_t si) { return (si + src_base) & lmask; };
  auto dst_at = [&](uint64_t di) { return (di + dst_base) & lmask; };
  bool is_cmp = op == 0xa6 || op == 0xa7 || op == 0xae || op == 0xaf;

  if (rep && rcx() == 0) return StepResult::Ok;
  bool is_io = op >= 0x6c && op <= 0x6f;
  if (is_io && !io_allowed(static_cast<uint16_t>(s_.regs[RDX]), sz)) return gp();

  // Bulk paths: REP MOVS / REP STOS, forward, non-overlapping within a chunk.
  if (rep && step > 0 && (op == 0xa4 || op == 0xa5 || op == 0xaa || op == 0xab)) {
    bool movs = op <= 0xa5;
    uint8_t buf[kChunk];
    unsigned done = 0;
    while (rcx() != 0 && done < kMaxBytesPerStep) {
      uint64_t src = (s_.regs[RSI] & amask), dst = (s_.regs[RDI] & amask);
      // Chunks stop at page ends, so that a fault leaves the registers at the faulting element.
      uint64_t room = 4096 - (dst_at(dst) & 0xfff);
      if (movs) room = std::min<uint64_t>(room, 4096 - (src_at(src) & 0xfff));
      // Offsets wrap at the address size: a chunk stops there too.
      if (amask != ~uint64_t{0}) {
        room = std::min<uint64_t>(room, amask - dst + 1);
        if (movs) room = std::min<uint64_t>(room, amask - src + 1);
      }
      uint64_t n = std::min<uint64_t>({rcx(), kChunk / sz, room / sz});
      if (n == 0) break;  // an element straddles a page boundary: element by element
      unsigned bytes = static_cast<unsigned>(n * sz);
      if (movs) {
        uint64_t gap = dst - src;  // forward copy with dst just above src replicates bytes
        if (gap != 0 && gap < bytes) break;
        if (!read_buf(src_at(src), buf, bytes)) return result_;
      } else {
        uint64_t v = get_reg(RAX, sz);
        for (unsigned i = 0; i < bytes; i += sz) std::memcpy(buf + i, &v, sz);
      }
      if (!write_buf(dst_at(dst), buf, bytes)) return result_;
      if (movs) set_idx(RSI, src + bytes);
      set_idx(RDI, dst + bytes);
      set_rcx(rcx() - n);
      done += bytes;
    }
    if (rcx() != 0) next_rip_ = s_.rip;  // continue with the next chunk (or element by element)
    if (rcx() == 0 || done != 0) return StepResult::Ok;
  }

  unsigned done = 0;
  do {
    uint64_t si = s_.regs[RSI] & amask, di = s_.regs[RDI] & amask;
    uint64_t a, b;
    switch (op) {
      case 0xa4:
      case 0xa5:  // MOVS
        if (!read_mem(src_at(si), sz, &a) || !write_mem(dst_at(di), sz, a)) return result_;
        set_idx(RSI, si + step);
        set_idx(RDI, di + step);
        break;
      case 0xa6:
      case 0xa7:  // CMPS
        if (!read_mem(src_at(si), sz, &a) || !read_mem(dst_at(di), sz, &b)) return result_;
        alu(7, a, b, sz);
        set_idx(RSI, si + step);
        set_idx(RDI, di + step);
        break;
      case 0xaa:
      case 0xab:  // STOS
        if (!write_mem(dst_at(di), sz, get_reg(RAX, sz))) return result_;
        set_idx(RDI, di + step);
        break;
      case 0xac:
      case 0xad:  // LODS
        if (!read_mem(src_at(si), sz, &a)) return result_;
        set_reg(RAX, sz, a);
        set_idx(RSI, si + step);
        break;
      case 0xae:
      case 0xaf:  // SCAS
        if (!read_mem(dst_at(di), sz, &b)) return result_;
        alu(7, get_reg(RAX, sz), b, sz);
        set_idx(RDI, di + step);
        break;
      case 0x6c:
      case 0x6d: {  // INS
        // The port is read only once the destination is known to be writable.
        if (!read_mem(dst_at(di), sz, &a) || !write_mem(dst_at(di), sz, a)) return result_;
        uint32_t v;
        m_.io_read(static_cast<uint16_t>(s_.regs[RDX]), sz, &v);
        if (!write_mem(dst_at(di), sz, v)) return result_;
        set_idx(RDI, di + step);
        break;
      }
      default: {  // OUTS
        if (!read_mem(src_at(si), sz, &a)) return result_;
        m_.io_write(static_cast<uint16_t>(s_.regs[RDX]), sz, static_cast<uint32_t>(a));
        set_idx(RSI, si + step);
        break;
      }
    }
    if (!rep) return StepResult::Ok;
    set_rcx(rcx() - 1);
    if (is_cmp) {
      bool zf = s_.arith_flags() & kZF;
      if (d_.rep && !zf) return StepResult::Ok;   // REPE: stop on mismatch
      if (d_.repne && zf) return StepResult::Ok;  // REPNE: stop on match
    }
    done += sz;
  } while (rcx() != 0 && done < kMaxBytesPerStep);
  if (rcx() != 0) next_rip_ = s_.rip;
  return StepResult::Ok;
}

}  // namespace machina::x86
