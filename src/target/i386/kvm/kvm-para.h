// KVM's paravirtual interface for x86 guests (QEMU's FEAT_KVM word and the reset of its MSRs):
// the hypervisor CPUID leaves 0x40000000 ("KVMKVMKVM") and 0x40000001 (features) that make Linux
// say "Booting paravirtualized kernel on KVM" and use kvmclock, and the guest-programmed
// paravirtual MSRs, which a reset must clear — else KVM would keep writing a rebooted guest's
// memory at the addresses its previous life registered.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "qapi/error.h"

namespace machina::x86 {

// The features a CPU model offers under KVM, as QEMU's defaults: kvmclock (both MSR sets),
// no PIO delay, async page faults, steal time, PV EOI and the stable-clock bit.
uint32_t kvm_para_default_features();

// Leaves 0x40000000 and 0x40000001 for a CPU model: `wanted` limited to KVM's `supported`
// 0x40000001 leaf; nothing when KVM reports no such leaf. Without KVM's local APIC
// (`irqchip_in_kernel` false) PV EOI and PV unhalt are dropped: KVM implements them there only.
std::vector<kvm_cpuid_entry2> kvm_para_cpuid(uint32_t wanted,
                                             const std::vector<kvm_cpuid_entry2>& supported,
                                             bool irqchip_in_kernel);

// The same limit on a table that already holds KVM's leaves (-cpu host).
void kvm_para_limit_to_irqchip(std::vector<kvm_cpuid_entry2>& table, bool irqchip_in_kernel);

// Writes the paravirtual MSRs among `kvm_msrs` (KVM_GET_MSR_INDEX_LIST) with their reset values:
// kvmclock, async page faults, steal time, PV EOI off; poll control on.
Status kvm_para_reset_msrs(int vcpu_fd, const std::vector<uint32_t>& kvm_msrs);

}  // namespace machina::x86
