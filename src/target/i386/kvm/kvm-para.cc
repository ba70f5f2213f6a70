// KVM's paravirtual CPUID leaves and MSRs (see kvm-para.h).
#include "target/i386/kvm/kvm-para.h"

#include <asm/kvm_para.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "accel/kvm/kvm-uapi.h"

namespace machina::x86 {

namespace {

constexpr uint32_t bit(unsigned n) {
  return uint32_t{1} << n;
}

// "KVMKVMKVM\0\0\0" in EBX, ECX, EDX.
constexpr uint32_t kSignature[3] = {0x4b4d564b, 0x564b4d56, 0x0000004d};

// The paravirtual MSRs and their values after reset.
struct ParaMsr {
  uint32_t index;
  uint64_t reset;
};
constexpr ParaMsr kParaMsrs[] = {
    {MSR_KVM_SYSTEM_TIME_NEW, 0}, {MSR_KVM_SYSTEM_TIME, 0}, {MSR_KVM_ASYNC_PF_EN, 0},
    {MSR_KVM_ASYNC_PF_INT, 0},    {MSR_KVM_STEAL_TIME, 0},  {MSR_KVM_PV_EOI_EN, 0},
    {MSR_KVM_POLL_CONTROL, 1},
};

uint32_t needs_kernel_lapic() {
  return bit(KVM_FEATURE_PV_EOI) | bit(KVM_FEATURE_PV_UNHALT);
}

}  // namespace

uint32_t kvm_para_default_features() {
  return bit(KVM_FEATURE_CLOCKSOURCE) | bit(KVM_FEATURE_NOP_IO_DELAY) |
         bit(KVM_FEATURE_CLOCKSOURCE2) | bit(KVM_FEATURE_ASYNC_PF) | bit(KVM_FEATURE_STEAL_TIME) |
         bit(KVM_FEATURE_PV_EOI) | bit(KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);
}

std::vector<kvm_cpuid_entry2> kvm_para_cpuid(uint32_t wanted,
                                             const std::vector<kvm_cpuid_entry2>& supported,
                                             bool irqchip_in_kernel) {
  auto it = std::find_if(supported.begin(), supported.end(), [](const kvm_cpuid_entry2& e) {
    return e.function == KVM_CPUID_FEATURES;
  });
  if (it == supported.end()) return {};
  kvm_cpuid_entry2 sig{};
  sig.function = KVM_CPUID_SIGNATURE;
  sig.eax = KVM_CPUID_FEATURES;
  sig.ebx = kSignature[0];
  sig.ecx = kSignature[1];
  sig.edx = kSignature[2];
  kvm_cpuid_entry2 feat{};
  feat.function = KVM_CPUID_FEATURES;
  feat.eax = wanted & it->eax;
  if (!irqchip_in_kernel) feat.eax &= ~needs_kernel_lapic();
  return {sig, feat};
}

void kvm_para_limit_to_irqchip(std::vector<kvm_cpuid_entry2>& table, bool irqchip_in_kernel) {
  if (irqchip_in_kernel) return;
  for (kvm_cpuid_entry2& e : table)
    if (e.function == KVM_CPUID_FEATURES) e.eax &= ~needs_kernel_lapic();
}

Status kvm_para_reset_msrs(int vcpu_fd, const std::vector<uint32_t>& kvm_msrs) {
  for (const ParaMsr& m : kParaMsrs) {
    if (std::find(kvm_msrs.begin(), kvm_msrs.end(), m.index) == kvm_msrs.end()) continue;
    kvm::KvmMsrArray b(1);
    kvm_msr_entry e{};
    e.index = m.index;
    e.data = m.reset;
    b.set(0, e);
    // One at a time: KVM refuses some even at their reset value when the vCPU cannot use them
    // (async page faults by interrupt without KVM's local APIC) — then no guest enabled them.
    int r = ::ioctl(vcpu_fd, kvm::kIoctlSetMsrs, b.data());
    if (r < 0) return generic_error(std::string("KVM_SET_MSRS failed: ") + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace machina::x86
