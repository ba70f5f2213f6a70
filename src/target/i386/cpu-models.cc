// The CPU models and the CPUID leaves they answer.
#include "target/i386/cpu-models.h"

#include <cpuid.h>

#include <algorithm>
#include <cstring>

namespace machina::x86 {

namespace {

using namespace feat;

// QEMU's qemu64 identity (vendor, family 15 model 107 stepping 1, brand), with only the
// features machina's software CPU implements.
const uint32_t kBaseEdx = kFPU | kPSE | kTSC | kMSR | kPAE | kCX8 | kAPIC | kSEP | kMTRR | kPGE |
                          kCMOV | kPAT | kCLFLUSH | kMMX | kFXSR | kSSE | kSSE2;

// The host CPU's identity and address widths (the "host" model's table entries).
X86CpuModel host_model() {
  X86CpuModel m{"host",
                "processor with all supported host features",
                "GenuineIntel",
                6,
                0,
                0,
                0,
                0,
                0,
                0,
                "",
                40,
                48};
  static char vendor[13] = {};
  static char brand[49] = {};
  unsigned a, b, c, d;
  if (__get_cpuid(0, &a, &b, &c, &d)) {
    std::memcpy(vendor, &b, 4);
    std::memcpy(vendor + 4, &d, 4);
    std::memcpy(vendor + 8, &c, 4);
    m.vendor = vendor;
  }
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    unsigned fam = (a >> 8) & 0xf;
    m.family = fam == 0xf ? fam + ((a >> 20) & 0xff) : fam;
    m.model = ((a >> 4) & 0xf) | (((a >> 16) & 0xf) << 4);
    m.stepping = a & 0xf;
  }
  unsigned regs[12];
  if (__get_cpuid(0x80000004, &regs[8], &regs[9], &regs[10], &regs[11])) {
    __get_cpuid(0x80000002, &regs[0], &regs[1], &regs[2], &regs[3]);
    __get_cpuid(0x80000003, &regs[4], &regs[5], &regs[6], &regs[7]);
    std::memcpy(brand, regs, 48);
    m.brand = brand;
  }
  if (__get_cpuid(0x80000008, &a, &b, &c, &d)) {
    m.phys_bits = a & 0xff;
    m.virt_bits = (a >> 8) & 0xff;
  }
  m.host = true;
  return m;
}

std::vector<X86CpuModel> make_models() {
  return {
      {"qemu64", "QEMU Virtual CPU version 2.5+", "AuthenticAMD", 15, 107, 1, kBaseEdx,
       kCX16 | kHypervisor, kSYSCALL | kNX | kLM, kLAHF_LM, "QEMU Virtual CPU version 2.5+", 40,
       48},
      // "base": the same identity without the hypervisor bit.
      {"base", "base CPU model type with no features enabled", "AuthenticAMD", 15, 107, 1, kBaseEdx,
       kCX16, kSYSCALL | kNX | kLM, kLAHF_LM, "QEMU Virtual CPU version 2.5+", 40, 48},
      host_model(),
  };
}

// The brand string, NUL-padded to 48 bytes.
void brand_words(const char* s, uint32_t words[12]) {
  char buf[48] = {};
  std::memcpy(buf, s, std::min<size_t>(std::strlen(s), sizeof buf));
  std::memcpy(words, buf, sizeof buf);
}

}  // namespace

const std::vector<X86CpuModel>& x86_cpu_models() {
  static const std::vector<X86CpuModel> models = make_models();
  return models;
}

const X86CpuModel& x86_default_cpu_model() {
  return x86_cpu_models().front();
}

const X86CpuModel* x86_cpu_model_find(const std::string& name) {
  for (const X86CpuModel& m : x86_cpu_models())
    if (m.name == name) return &m;
  return nullptr;
}

void cpuid_query(const X86CpuModel& m, uint32_t apic_id, const X86CpuTopology& topo, uint32_t leaf,
                 uint32_t subleaf, uint32_t out[4]) {
  uint32_t& eax = out[0];
  uint32_t& ebx = out[1];
  uint32_t& ecx = out[2];
  uint32_t& edx = out[3];
  eax = ebx = ecx = edx = 0;
  const uint32_t kMaxBasic = 0xd, kMaxExt = 0x80000008;
  // Out-of-range basic leaves return the highest basic leaf's data (as Intel documents);
  // out-of-range extended leaves return zeros (as AMD does).
  if (leaf < 0x80000000 && leaf > kMaxBasic) leaf = kMaxBasic;
  unsigned fam = m.family, ext_fam = 0;
  if (fam > 15) {
    ext_fam = fam - 15;
    fam = 15;
  }
  const uint32_t per_package = topo.logical_per_package();
  uint32_t signature = ((m.model >> 4) << 16) | (ext_fam << 20) | (fam << 8) |
                       ((m.model & 0xf) << 4) | (m.stepping & 0xf);
  switch (leaf) {
    case 0: {
      eax = kMaxBasic;
      uint32_t v[3];
      std::memcpy(v, m.vendor, 12);
      ebx = v[0];
      edx = v[1];
      ecx = v[2];
      break;
    }
    case 1:
      eax = signature;
      // CLFLUSH line size 8 (x8 = 64 bytes), initial APIC ID, and with more than one logical
      // processor per package their count and the HTT bit.
      ebx = (apic_id << 24) | (8u << 8);
      ecx = m.features_1_ecx;
      edx = m.features_1_edx;
      if (per_package > 1) {
        ebx |= (per_package & 0xff) << 16;
        edx |= 1u << 28;  // HTT
      } else {
        ebx |= 1u << 16;
      }
      break;
    case 0xb:
      // Extended topology: level 0 the threads of a core (SMT), level 1 everything in the package
      // (core); EDX the x2APIC ID at every level.
      edx = apic_id;
      if (subleaf == 0) {
        eax = x86_apicid_core_offset(topo);
        ebx = topo.threads;
        ecx = (1u << 8) | subleaf;
      } else if (subleaf == 1) {
        eax = x86_apicid_pkg_offset(topo);
        ebx = per_package;
        ecx = (2u << 8) | subleaf;
      } else {
        ecx = subleaf & 0xff;
      }
      break;
    case 0x80000000: {
      eax = kMaxExt;
      uint32_t v[3];
      std::memcpy(v, m.vendor, 12);
      ebx = v[0];
      edx = v[1];
      ecx = v[2];
      break;
    }
    case 0x80000001:
      eax = signature;
      ecx = m.features_81_ecx;
      edx = m.features_81_edx;
      // CmpLegacy: more than one core per package (AMD; Linux ignores it on Intel).
      if (per_package > 1 && std::memcmp(m.vendor, "GenuineIntel", 12) != 0) ecx |= 1u << 1;
      break;
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
      uint32_t all[12];
      brand_words(m.brand, all);
      std::memcpy(out, all + (leaf - 0x80000002) * 4, 16);
      break;
    }
    case 0x80000005:
      // L1 TLBs and caches (AMD format): 64 KiB 2-way data and instruction caches, 64-byte lines.
      eax = 0x01ff01ff;
      ebx = 0x01ff01ff;
      ecx = 0x40020140;
      edx = 0x40020140;
      break;
    case 0x80000006:
      // L2: 512 KiB 16-way, 64-byte lines.
      ebx = 0x42004200;
      ecx = 0x02008140;
      break;
    case 0x80000008:
      eax = m.phys_bits | (m.virt_bits << 8);
      // NC (logical processors per package - 1) and the APIC ID bits that number them.
      if (per_package > 1) ecx = (x86_apicid_pkg_offset(topo) << 12) | (per_package - 1);
      break;
    default:
      break;
  }
}

}  // namespace machina::x86
