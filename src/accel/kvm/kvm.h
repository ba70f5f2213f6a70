// The KVM accelerator (QEMU's include/sysemu/kvm.h): hardware virtualization through /dev/kvm
// running the same machine, devices and CPU objects as the software CPU. What it does today:
// guest RAM and ROM in KVM memory slots kept in step with the memory API, one thread per vCPU
// running KVM_RUN, port I/O and MMIO exits dispatched through address_space_io() /
// address_space_memory() under the big lock, and interrupts from machina's own interrupt
// controller models (kernel-irqchip=off semantics).
#pragma once

#include <string>

#include "qapi/error.h"
#include "util/qemu-option.h"

namespace machina::kvm {

// Opens /dev/kvm and creates the VM (once per process; a second call returns the first result).
// `props` are -accel kvm's other properties (kernel-irqchip=off is the only mode today). Errors
// carry QEMU's texts ("Could not access KVM kernel module: ...").
Status kvm_init(const QemuOpts& props);

// Whether kvm_init succeeded (the VM exists).
bool kvm_enabled();

// Whether /dev/kvm can be opened read-write and speaks the KVM API this code uses (for
// query-kvm's "present"); the reason when it is not.
bool kvm_available(std::string* why = nullptr);

}  // namespace machina::kvm
