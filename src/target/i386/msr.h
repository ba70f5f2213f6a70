// Model-specific registers (RDMSR/WRMSR).
#pragma once

#include <cstdint>

#include "target/i386/cpu.h"

namespace machina::x86 {

namespace msr {
inline constexpr uint32_t kTsc = 0x10, kApicBase = 0x1b, kMtrrCap = 0xfe, kSysenterCs = 0x174,
                          kSysenterEsp = 0x175, kSysenterEip = 0x176, kMcgCap = 0x179,
                          kMcgStatus = 0x17a, kMiscEnable = 0x1a0, kMtrrPhysBase0 = 0x200,
                          kMtrrFix64k = 0x250, kMtrrFix16k0 = 0x258, kMtrrFix16k1 = 0x259,
                          kMtrrFix4k0 = 0x268, kPat = 0x277, kMtrrDefType = 0x2ff,
                          kEfer = 0xc0000080, kStar = 0xc0000081, kLstar = 0xc0000082,
                          kCstar = 0xc0000083, kSfmask = 0xc0000084, kFsBase = 0xc0000100,
                          kGsBase = 0xc0000101, kKernelGsBase = 0xc0000102, kTscAux = 0xc0000103,
                          kAmdSyscfg = 0xc0010010, kAmdIntPending = 0xc0010055;
}  // namespace msr

// The TSC as the guest sees it.
uint64_t read_tsc(const CpuState& s);

// RDMSR / WRMSR. They return false for an MSR the CPU does not have, or a value it refuses:
// the instruction raises #GP(0), as hardware does. The documented set: TSC, APIC_BASE,
// MTRRcap/def type/variable and fixed MTRRs, SYSENTER_*, MCG_CAP/STATUS (no banks),
// MISC_ENABLE, PAT, EFER, STAR/LSTAR/CSTAR/SFMASK, FS/GS/KERNEL_GS base, TSC_AUX.
bool msr_read(CpuState& s, uint32_t index, uint64_t* value);
bool msr_write(CpuState& s, CpuMemory& m, uint32_t index, uint64_t value);

// Whether `v` is a canonical 48-bit virtual address.
inline bool is_canonical(uint64_t v) {
  return static_cast<uint64_t>(static_cast<int64_t>(v << 16) >> 16) == v;
}

}  // namespace machina::x86
