// The x86 side of the KVM accelerator (QEMU's target/i386/kvm/kvm.c): the CPU object's
// architectural state (CpuState, which the software CPU runs on directly) loaded into and read
// back from a KVM vCPU, and the CPUID table built from the CPU model and what KVM supports.
// Whatever sets a CpuState up — the power-on state, the 64-bit direct-boot entry
// (X86Cpu::enter_long_mode) — is written once, in target/i386, and each accelerator loads it.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "qapi/error.h"
#include "target/i386/cpu-models.h"
#include "target/i386/cpu.h"

namespace machina::x86 {

// The CPUID table of `model` for the vCPU with `apic_id`: the model's leaves (as the software
// CPU answers them), with the feature words limited to what KVM reports in `supported`
// (KVM_GET_SUPPORTED_CPUID) so that the guest is never promised what the host cannot run, and
// KVM's paravirtual leaves (kvm-para.h; `irqchip_in_kernel`: whether the local APICs are KVM's).
std::vector<kvm_cpuid_entry2> kvm_x86_cpuid(const X86CpuModel& model, uint32_t apic_id,
                                            const X86CpuTopology& topo,
                                            const std::vector<kvm_cpuid_entry2>& supported,
                                            bool irqchip_in_kernel);

// KVM_SET_CPUID2 with kvm_x86_cpuid().
Status kvm_x86_set_cpuid(int vcpu_fd, const X86CpuModel& model, uint32_t apic_id,
                         const X86CpuTopology& topo, const std::vector<kvm_cpuid_entry2>& supported,
                         bool irqchip_in_kernel);

// Loads `env` into the vCPU: general registers, segments, control registers and EFER, the
// descriptor tables, x87/SSE state, and the system MSRs KVM lists in `msrs`
// (KVM_GET_MSR_INDEX_LIST); the paravirtual MSRs go back to their reset values (every load is a
// state set from outside: power-on, reset, INIT, the direct-boot entry). Errors name the ioctl
// and the MSR KVM refused.
Status kvm_x86_put_registers(int vcpu_fd, const CpuState& env, const std::vector<uint32_t>& msrs);

// Reads the vCPU's state back into `env` (what put_registers loads).
Status kvm_x86_get_registers(int vcpu_fd, CpuState& env, const std::vector<uint32_t>& msrs);

}  // namespace machina::x86
