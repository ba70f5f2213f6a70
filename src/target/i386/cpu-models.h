// x86 CPU models (-cpu NAME): what CPUID reports. Only implemented features are advertised.
#pragma once

#include <cstdint>
#include <string>
#include <vector>
#include "target/i386/topology.h"

namespace machina::x86 {

// CPUID feature bits.
namespace feat {
// Leaf 1 EDX.
inline constexpr uint32_t kFPU = 1u << 0, kPSE = 1u << 3, kTSC = 1u << 4, kMSR = 1u << 5,
                          kPAE = 1u << 6, kCX8 = 1u << 8, kAPIC = 1u << 9, kSEP = 1u << 11,
                          kMTRR = 1u << 12, kPGE = 1u << 13, kCMOV = 1u << 15, kPAT = 1u << 16,
                          kCLFLUSH = 1u << 19, kMMX = 1u << 23, kFXSR = 1u << 24, kSSE = 1u << 25,
                          kSSE2 = 1u << 26;
// Leaf 1 ECX.
inline constexpr uint32_t kSSE3 = 1u << 0, kCX16 = 1u << 13, kPOPCNT = 1u << 23,
                          kHypervisor = 1u << 31;
// Leaf 0x80000001 EDX / ECX.
inline constexpr uint32_t kSYSCALL = 1u << 11, kNX = 1u << 20, kLM = 1u << 29;
inline constexpr uint32_t kLAHF_LM = 1u << 0;
}  // namespace feat

struct X86CpuModel {
  std::string name;
  std::string description;
  const char* vendor;  // 12 characters
  unsigned family, model, stepping;
  uint32_t features_1_edx, features_1_ecx, features_81_edx, features_81_ecx;
  const char* brand;  // up to 48 characters
  unsigned phys_bits, virt_bits;
  // "host": CPUID is the accelerator's (KVM_GET_SUPPORTED_CPUID as it is), not this table's;
  // only KVM runs it. The table gives the host's own identity and address widths.
  bool host = false;
};

// The models machina implements, default first (qemu64).
const std::vector<X86CpuModel>& x86_cpu_models();
const X86CpuModel& x86_default_cpu_model();
// By name; nullptr if unknown.
const X86CpuModel* x86_cpu_model_find(const std::string& name);

// CPUID for `model` (leaf in EAX, subleaf in ECX) as seen by the CPU with `apic_id` in a
// package of topology `topo` (leaves 1, 0xb, 0x80000001 and 0x80000008 describe it, as QEMU's).
void cpuid_query(const X86CpuModel& model, uint32_t apic_id, const X86CpuTopology& topo,
                 uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

}  // namespace machina::x86
