// Model-specific registers.
#include "target/i386/msr.h"

#include "target/i386/cpu-interrupts.h"

namespace machina::x86 {

namespace {

// PAT entries must be a valid memory type: 0 (UC), 1 (WC), 4 (WT), 5 (WP), 6 (WB), 7 (UC-).
bool pat_valid(uint64_t v) {
  for (int i = 0; i < 8; i++) {
    unsigned t = (v >> (i * 8)) & 0xff;
    if (t > 7 || t == 2 || t == 3) return false;
  }
  return true;
}

bool mtrr_type_valid(unsigned t) {
  return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}

int fixed_mtrr_slot(uint32_t index) {
  if (index == msr::kMtrrFix64k) return 0;
  if (index == msr::kMtrrFix16k0) return 1;
  if (index == msr::kMtrrFix16k1) return 2;
  if (index >= msr::kMtrrFix4k0 && index < msr::kMtrrFix4k0 + 8)
    return 3 + int(index - msr::kMtrrFix4k0);
  return -1;
}

}  // namespace

uint64_t read_tsc(const CpuState& s) {
  uint64_t now = s.clock_ns ? s.clock_ns() : s.fake_tsc;
  return now + static_cast<uint64_t>(s.tsc_offset);
}

bool msr_read(CpuState& s, uint32_t index, uint64_t* v) {
  int fixed = fixed_mtrr_slot(index);
  if (fixed >= 0) {
    *v = s.mtrr_fixed[fixed];
    return true;
  }
  if (index >= msr::kMtrrPhysBase0 && index < msr::kMtrrPhysBase0 + 16) {
    *v = s.mtrr_var[index - msr::kMtrrPhysBase0];
    return true;
  }
  switch (index) {
    case msr::kTsc:
      *v = read_tsc(s);
      return true;
    case msr::kApicBase:
      *v = s.lapic ? s.lapic->apic_base() : 0;
      return s.lapic != nullptr;
    case msr::kMtrrCap:
      *v = 8 | (1u << 8) | (1u << 10);  // 8 variable ranges, fixed ranges, write-combining
      return true;
    case msr::kSysenterCs:
      *v = s.sysenter_cs;
      return true;
    case msr::kSysenterEsp:
      *v = s.sysenter_esp;
      return true;
    case msr::kSysenterEip:
      *v = s.sysenter_eip;
      return true;
    case msr::kMcgCap:
    case msr::kMcgStatus:
      *v = 0;
      return true;
    case msr::kMiscEnable:
      *v = s.misc_enable;
      return true;
    case msr::kPat:
      *v = s.pat;
      return true;
    case msr::kMtrrDefType:
      *v = s.mtrr_def_type;
      return true;
    case msr::kEfer:
      *v = s.efer;
      return true;
    case msr::kStar:
      *v = s.star;
      return true;
    case msr::kLstar:
      *v = s.lstar;
      return true;
    case msr::kCstar:
      *v = s.cstar;
      return true;
    case msr::kSfmask:
      *v = s.sfmask;
      return true;
    case msr::kFsBase:
      *v = s.fs_base;
      return true;
    case msr::kGsBase:
      *v = s.gs_base;
      return true;
    case msr::kKernelGsBase:
      *v = s.kernel_gs_base;
      return true;
    case msr::kTscAux:
      *v = s.tsc_aux;
      return true;
    case msr::kAmdSyscfg:
      // AMD SYSCFG: no MTRR fixed-range extensions, no memory encryption (read as 0, writes
      // ignored) as Linux expects on an AMD-family CPU.
      *v = 0;
      return true;
    case msr::kAmdIntPending:
      // AMD family 0Fh "interrupt pending message": C1E is never enabled (SMI/C1E bits 0, writes
      // ignored). Linux reads it for the E400 erratum of the family/model qemu64 reports.
      *v = 0;
      return true;
  }
  return false;
}

bool msr_write(CpuState& s, CpuMemory& m, uint32_t index, uint64_t v) {
  int fixed = fixed_mtrr_slot(index);
  if (fixed >= 0) {
    for (int i = 0; i < 8; i++)
      if (!mtrr_type_valid((v >> (i * 8)) & 0xff)) return false;
    s.mtrr_fixed[fixed] = v;
    return true;
  }
  if (index >= msr::kMtrrPhysBase0 && index < msr::kMtrrPhysBase0 + 16) {
    unsigned n = index - msr::kMtrrPhysBase0;
    // Even: PhysBase (type in bits 7:0, bits 11:8 reserved); odd: PhysMask (bits 10:0 reserved).
    if (n % 2 == 0 ? (!mtrr_type_valid(v & 0xff) || (v & 0xf00)) : (v & 0x7ff)) return false;
    if (v >> 40) return false;
    s.mtrr_var[n] = v;
    return true;
  }
  switch (index) {
    case msr::kTsc:
      s.tsc_offset = static_cast<int64_t>(v - (s.clock_ns ? s.clock_ns() : s.fake_tsc));
      return true;
    case msr::kApicBase:
      return s.lapic && s.lapic->set_apic_base(v);
    case msr::kSysenterCs:
      s.sysenter_cs = v & 0xffff;
      return true;
    case msr::kSysenterEsp:
      s.sysenter_esp = v;
      return true;
    case msr::kSysenterEip:
      s.sysenter_eip = v;
      return true;
    case msr::kMcgStatus:
      return v == 0;
    case msr::kMiscEnable:
      s.misc_enable = v;
      return true;
    case msr::kPat:
      if (!pat_valid(v)) return false;
      s.pat = v;
      return true;
    case msr::kMtrrDefType:
      if ((v & ~0xcffull) || !mtrr_type_valid(v & 0xff)) return false;
      s.mtrr_def_type = v;
      return true;
    case msr::kEfer: {
      uint64_t allowed = kEferSCE | kEferLME | kEferNXE;
      if (v & ~(allowed | kEferLMA)) return false;
      // LME cannot change while paging is on; LMA is read-only.
      if ((s.cr0 & kCr0PG) && ((v ^ s.efer) & kEferLME)) return false;
      uint64_t nv = (v & allowed) | (s.efer & kEferLMA);
      if ((nv ^ s.efer) & kEferNXE) m.flush_tlb(true);
      s.efer = nv;
      return true;
    }
    case msr::kStar:
      s.star = v;
      return true;
    case msr::kLstar:
    case msr::kCstar:
      if (!is_canonical(v)) return false;
      (index == msr::kLstar ? s.lstar : s.cstar) = v;
      return true;
    case msr::kSfmask:
      s.sfmask = v & 0xffffffffu;
      return true;
    case msr::kFsBase:
    case msr::kGsBase:
    case msr::kKernelGsBase:
      if (!is_canonical(v)) return false;
      (index == msr::kFsBase   ? s.fs_base
       : index == msr::kGsBase ? s.gs_base
                               : s.kernel_gs_base) = v;
      return true;
    case msr::kTscAux:
      if (v >> 32) return false;
      s.tsc_aux = v;
      return true;
    case msr::kAmdSyscfg:
    case msr::kAmdIntPending:
      return true;
  }
  return false;
}

}  // namespace machina::x86
