// The KVM accelerator (QEMU's include/sysemu/kvm.h): hardware virtualization through /dev/kvm
// running the same machine, devices and CPU objects as the software CPU. What it does today:
// guest RAM and ROM in KVM memory slots kept in step with the memory API, one thread per vCPU
// running KVM_RUN, port I/O and MMIO exits dispatched through address_space_io() /
// address_space_memory() under the big lock, ioeventfds of the memory API in the kernel, and
// interrupts either from machina's own interrupt controller models (kernel-irqchip=off) or from
// KVM's (kernel-irqchip=on).
#pragma once

#include <cstdint>
#include <string>

#include "qapi/error.h"
#include "util/qemu-option.h"

namespace machina::kvm {

// Opens /dev/kvm and creates the VM (once per process; a second call returns the first result).
// `props` are -accel kvm's other properties: kernel-irqchip=on (the default, as QEMU's: KVM's
// 8259s, I/O APIC, local APICs and PIT, see kvm_irqchip_in_kernel; KVM also handles the ELCR
// ports 0x4d0/0x4d1 itself) or off (machina's own interrupt controller models); split is refused.
// Errors carry QEMU's texts ("Could not access KVM kernel module: ...").
Status kvm_init(const QemuOpts& props);

// Whether kvm_init succeeded (the VM exists).
bool kvm_enabled();

// Whether the VM's interrupt controllers (8259 pair, I/O APIC, local APICs) and PIT are KVM's
// (kernel-irqchip=on): a machine then creates none of its own and sends its GSI lines to
// kvm_set_irq; interrupt messages on the APIC bus go to KVM_SIGNAL_MSI.
bool kvm_irqchip_in_kernel();
// KVM_IRQ_LINE: the level of GSI `gsi` (routed to the in-kernel 8259 and I/O APIC pins).
// -errno on failure.
int kvm_set_irq(unsigned gsi, int level);
// KVM_SIGNAL_MSI (x86 MSI format): > 0 delivered, 0 blocked by the guest, -errno on failure.
int kvm_irqchip_send_msi(uint64_t addr, uint32_t data);

// Whether /dev/kvm can be opened read-write and speaks the KVM API this code uses (for
// query-kvm's "present"); the reason when it is not.
bool kvm_available(std::string* why = nullptr);

}  // namespace machina::kvm
