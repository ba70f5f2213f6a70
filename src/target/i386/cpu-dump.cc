// `info registers` text (see cpu-dump.h).
#include "target/i386/cpu-dump.h"

#include <cinttypes>
#include <cstdio>

namespace machina::x86 {

namespace {

void add(std::string& out, const char* fmt, auto... args) {
  char b[160];
  std::snprintf(b, sizeof b, fmt, args...);
  out += b;
}

void seg_line(std::string& out, const char* name, const SegmentCache& sc) {
  add(out, "%-3s=%04x %016" PRIx64 " %08x %08x\n", name, sc.selector, sc.base, sc.limit,
      sc.flags & 0x00f0ff00u);
}

}  // namespace

std::string x86_cpu_dump_state(const CpuState& s) {
  std::string out;
  static const char* const kNames[16] = {"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
                                         "R8",  "R9",  "R10", "R11", "R12", "R13", "R14", "R15"};
  // QEMU's order: RAX RBX RCX RDX / RSI RDI RBP RSP / R8.. R15.
  static const int kOrder[16] = {RAX, RBX, RCX, RDX, RSI, RDI, RBP, RSP,
                                 R8,  R9,  R10, R11, R12, R13, R14, R15};
  for (int i = 0; i < 16; i++) {
    add(out, "%-3s=%016" PRIx64 "%s", kNames[kOrder[i]], s.regs[kOrder[i]],
        (i % 4 == 3) ? "\n" : " ");
  }
  uint64_t fl = s.rflags();
  add(out, "RIP=%016" PRIx64 " RFL=%08x [%c%c%c%c%c%c%c] CPL=%u II=%d A20=1 SMM=0 HLT=%d\n", s.rip,
      static_cast<unsigned>(fl), fl & kDF ? 'D' : '-', fl & kOF ? 'O' : '-', fl & kSF ? 'S' : '-',
      fl & kZF ? 'Z' : '-', fl & kAF ? 'A' : '-', fl & kPF ? 'P' : '-', fl & kCF ? 'C' : '-', s.cpl,
      s.irq_shadow ? 1 : 0, s.halted ? 1 : 0);
  static const char* const kSegs[6] = {"ES", "CS", "SS", "DS", "FS", "GS"};
  for (int i = 0; i < 6; i++) {
    SegmentCache sc = s.seg[i];
    if (s.long_mode() && i == FS) sc.base = s.fs_base;
    if (s.long_mode() && i == GS) sc.base = s.gs_base;
    seg_line(out, kSegs[i], sc);
  }
  seg_line(out, "LDT", s.ldtr);
  seg_line(out, "TR", s.tr);
  add(out, "GDT=     %016" PRIx64 " %08x\n", s.gdtr.base, s.gdtr.limit);
  add(out, "IDT=     %016" PRIx64 " %08x\n", s.idtr.base, s.idtr.limit);
  add(out, "CR0=%08x CR2=%016" PRIx64 " CR3=%016" PRIx64 " CR4=%08x\n",
      static_cast<unsigned>(s.cr0), s.cr2, s.cr3, static_cast<unsigned>(s.cr4));
  add(out, "DR0=%016" PRIx64 " DR1=%016" PRIx64 " DR2=%016" PRIx64 " DR3=%016" PRIx64 "\n", s.dr[0],
      s.dr[1], s.dr[2], s.dr[3]);
  add(out, "DR6=%016" PRIx64 " DR7=%016" PRIx64 "\n", s.dr[6], s.dr[7]);
  add(out, "EFER=%016" PRIx64 "\n", s.efer);
  add(out, "FCW=%04x FSW=%04x [ST=%d] FTW=%02x MXCSR=%08x\n", s.fpu.fcw, s.fpu.status_word(),
      s.fpu.top, s.fpu.ftw, s.fpu.mxcsr);
  return out;
}

}  // namespace machina::x86
