// Segment descriptor loads and their protection checks (SDM vol. 3, ch. 5), long mode.
#include "target/i386/seg.h"

namespace machina::x86 {

namespace {

bool fail(CpuState& s, uint8_t vector, uint32_t error) {
  s.exc = {true, vector, true, error};
  return false;
}

}  // namespace

bool read_descriptor(CpuState& s, CpuMemory& m, uint16_t selector, Descriptor* out) {
  const DescriptorTable* table;
  DescriptorTable ldt;
  if (selector & 4) {
    ldt.base = s.ldtr.base;
    ldt.limit = s.ldtr.present() ? s.ldtr.limit : 0;
    if (!s.ldtr.present() || (s.ldtr.selector & ~3) == 0) return fail(s, kExcGP, selector & ~3u);
    table = &ldt;
  } else {
    table = &s.gdtr;
  }
  uint32_t off = selector & ~7u;
  if (off + 7 > table->limit) return fail(s, kExcGP, selector & ~3u);
  uint32_t raw[2];
  if (!m.read_system(table->base + off, raw, 8)) return false;
  out->lo = raw[0];
  out->hi = raw[1];
  return true;
}

void set_segment(SegmentCache& sc, uint16_t selector, const Descriptor& d) {
  sc.selector = selector;
  sc.base = d.base();
  sc.limit = d.limit();
  sc.flags = d.flags();
}

void set_flat_segment(SegmentCache& sc, uint16_t selector, bool code, unsigned dpl) {
  sc.selector = selector;
  sc.base = 0;
  sc.limit = 0xffffffffu;
  // Present, S, accessed; code: execute/read + L; data: read/write + B; 4 KiB granularity.
  sc.flags = kDescP | kDescS | kDescG | (dpl << 13) |
             (code ? (0xbu << 8) | kDescL : (0x3u << 8) | kDescDB);
}

void load_real_mode_segment(CpuState& s, unsigned seg, uint16_t selector) {
  SegmentCache& sc = s.seg[seg];
  sc.selector = selector;
  sc.base = uint64_t{selector} << 4;
  if (seg == FS) s.fs_base = sc.base;
  if (seg == GS) s.gs_base = sc.base;
}

bool load_far_code_segment(CpuState& s, CpuMemory& m, uint16_t selector) {
  uint32_t err = selector & ~3u;
  if (err == 0) return fail(s, kExcGP, 0);
  Descriptor d;
  if (!read_descriptor(s, m, selector, &d)) return false;
  if (!d.is_code()) return fail(s, kExcGP, err);  // call gates, TSS: not implemented
  if (d.conforming() ? d.dpl() > s.cpl : (d.dpl() != s.cpl || (selector & 3u) > s.cpl))
    return fail(s, kExcGP, err);
  if (!d.present()) return fail(s, kExcNP, err);
  if (s.long_mode() && (d.hi & kDescL) && (d.hi & kDescDB)) return fail(s, kExcGP, err);
  set_segment(s.seg[CS], static_cast<uint16_t>(err | s.cpl), d);
  return true;
}

bool load_data_segment(CpuState& s, CpuMemory& m, unsigned seg, uint16_t selector) {
  if (!(s.cr0 & kCr0PE) || (s.flags_other & kVM)) {
    load_real_mode_segment(s, seg, selector);
    return true;
  }
  SegmentCache& sc = s.seg[seg];
  if ((selector & ~3u) == 0) {
    // A null selector: SS only at CPL < 3 with RPL == CPL in 64-bit mode.
    if (seg == SS && (s.cpl == 3 || (selector & 3) != s.cpl)) return fail(s, kExcGP, 0);
    sc.selector = selector;
    sc.base = 0;
    sc.limit = 0;
    sc.flags = seg == SS ? (s.cpl << 13) | kDescS | kDescP | (0x3u << 8) : 0;
    if (seg == FS) s.fs_base = 0;
    if (seg == GS) s.gs_base = 0;
    return true;
  }
  Descriptor d;
  if (!read_descriptor(s, m, selector, &d)) return false;
  unsigned rpl = selector & 3;
  uint32_t err = selector & ~3u;
  if (seg == SS) {
    if (rpl != s.cpl || d.dpl() != s.cpl || d.is_system() || d.is_code() ||
        !d.readable_or_writable())
      return fail(s, kExcGP, err);
    if (!d.present()) return fail(s, kExcSS, err);
  } else {
    if (d.is_system() || (d.is_code() && !d.readable_or_writable())) return fail(s, kExcGP, err);
    if (!d.conforming() && (d.dpl() < s.cpl || d.dpl() < rpl)) return fail(s, kExcGP, err);
    if (!d.present()) return fail(s, kExcNP, err);
  }
  set_segment(sc, selector, d);
  if (seg == FS) s.fs_base = sc.base;
  if (seg == GS) s.gs_base = sc.base;
  return true;
}

bool load_return_segments(CpuState& s, CpuMemory& m, uint16_t cs, uint16_t ss, bool load_ss) {
  unsigned rpl = cs & 3;
  if ((cs & ~3u) == 0) return fail(s, kExcGP, 0);
  Descriptor c;
  if (!read_descriptor(s, m, cs, &c)) return false;
  if (!c.is_code() || rpl < s.cpl) return fail(s, kExcGP, cs & ~3u);
  if (c.conforming() ? c.dpl() > rpl : c.dpl() != rpl) return fail(s, kExcGP, cs & ~3u);
  if (!c.present()) return fail(s, kExcNP, cs & ~3u);
  Descriptor st;
  bool null_ss = (ss & ~3u) == 0;
  if (load_ss) {
    if (null_ss) {
      // Allowed in 64-bit mode when returning to CPL < 3 in a 64-bit code segment.
      if (rpl == 3 || !(c.hi & kDescL)) return fail(s, kExcGP, 0);
    } else {
      if (!read_descriptor(s, m, ss, &st)) return false;
      if ((ss & 3) != rpl || st.dpl() != rpl || st.is_system() || st.is_code() ||
          !st.readable_or_writable())
        return fail(s, kExcGP, ss & ~3u);
      if (!st.present()) return fail(s, kExcSS, ss & ~3u);
    }
  }
  set_segment(s.seg[CS], cs, c);
  if (load_ss) {
    if (null_ss) {
      s.seg[SS].selector = ss;
      s.seg[SS].base = 0;
      s.seg[SS].limit = 0;
      s.seg[SS].flags = (rpl << 13) | kDescS | kDescP | (0x3u << 8);
    } else {
      set_segment(s.seg[SS], ss, st);
    }
  }
  return true;
}

namespace {

bool read_tss_qword(CpuState& s, CpuMemory& m, uint32_t off, uint64_t* v) {
  if (!s.tr.present() || off + 7 > s.tr.limit) return fail(s, kExcTS, s.tr.selector & ~3u);
  return m.read_system(s.tr.base + off, v, 8);
}

}  // namespace

bool read_tss_rsp(CpuState& s, CpuMemory& m, unsigned n, uint64_t* rsp) {
  return read_tss_qword(s, m, 4 + 8 * n, rsp);
}

bool read_tss_ist(CpuState& s, CpuMemory& m, unsigned n, uint64_t* rsp) {
  return read_tss_qword(s, m, 0x24 + 8 * (n - 1), rsp);
}

}  // namespace machina::x86
