// Segmentation: real-mode segment loads, descriptor table reads, segment register loads with their
// protection checks, and the 64-bit TSS.
#pragma once

#include <cstdint>

#include "target/i386/cpu.h"

namespace machina::x86 {

// A raw 8-byte segment descriptor.
struct Descriptor {
  uint32_t lo = 0, hi = 0;
  uint32_t flags() const { return hi & 0x00f0ff00u; }
  uint64_t base() const { return (lo >> 16) | ((hi & 0xffu) << 16) | (hi & 0xff000000u); }
  uint32_t limit() const {
    uint32_t l = (lo & 0xffffu) | (hi & 0x000f0000u);
    return (hi & kDescG) ? (l << 12) | 0xfffu : l;
  }
  unsigned dpl() const { return (hi >> 13) & 3; }
  bool present() const { return hi & kDescP; }
  bool is_system() const { return !(hi & kDescS); }
  bool is_code() const { return !is_system() && (hi & (1u << 11)); }
  bool conforming() const { return is_code() && (hi & (1u << 10)); }
  bool readable_or_writable() const { return hi & (1u << 9); }  // code: readable; data: writable
  unsigned type() const { return (hi >> 8) & 0xf; }
};

// Reads the descriptor `selector` refers to (GDT or LDT). On failure records #GP(selector) (or
// the memory fault) in s.exc and returns false.
bool read_descriptor(CpuState& s, CpuMemory& m, uint16_t selector, Descriptor* out);

// Loads a data segment register (DS, ES, FS, GS) or SS with the checks of MOV/POP Sreg.
// Returns false with s.exc set on #GP/#SS/#NP.
bool load_data_segment(CpuState& s, CpuMemory& m, unsigned seg, uint16_t selector);

// A segment register load in real mode (and virtual-8086 mode): the base is selector * 16; the
// limit and attributes stay as they are.
void load_real_mode_segment(CpuState& s, unsigned seg, uint16_t selector);

// Loads CS for a far JMP or CALL to `selector` in protected or long mode: a code segment the
// current privilege level may use directly (no call gates, no task switches). Returns false
// with s.exc set.
bool load_far_code_segment(CpuState& s, CpuMemory& m, uint16_t selector);

// Loads CS and SS for a return to `rpl` (far RET, IRET): checks the code segment (present,
// code, DPL rules) and the stack segment. Does not change CPL or RIP; returns false with s.exc.
bool load_return_segments(CpuState& s, CpuMemory& m, uint16_t cs, uint16_t ss, bool load_ss);

// Sets a segment cache from a descriptor.
void set_segment(SegmentCache& sc, uint16_t selector, const Descriptor& d);
// The flat 64-bit code/data segments SYSCALL/SYSRET load.
void set_flat_segment(SegmentCache& sc, uint16_t selector, bool code, unsigned dpl);

// 64-bit TSS: RSPn (n = 0..2) and ISTn (n = 1..7). Returns false with s.exc set (#TS) if the TSS
// is too small.
bool read_tss_rsp(CpuState& s, CpuMemory& m, unsigned n, uint64_t* rsp);
bool read_tss_ist(CpuState& s, CpuMemory& m, unsigned n, uint64_t* rsp);

// The mode-defining bits of CS changed (CPL, long mode): recompute cached mode state.
inline void update_cpl(CpuState& s) {
  s.cpl = s.seg[CS].selector & 3;
}

}  // namespace machina::x86
