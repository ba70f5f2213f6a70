// Interrupt lines, MSI routes and irqfds of the accelerator (QEMU's kvm_irqchip_add_msi_route /
// kvm_irqchip_add_irqfd_notifier_gsi, behind an interface so that device code names no
// accelerator): when the accelerator injects interrupts itself (KVM's in-kernel irqchip), a
// device may bind an MSI message to an eventfd once and from then on raise that interrupt by
// signalling the eventfd — the kernel injects it, nothing passes through machina's vCPU threads.
// Without such an accelerator, accel_msi_routing() is nullptr and devices send MSIs as usual.
#pragma once

#include <cstdint>
#include <functional>

#include "qapi/error.h"

namespace machina {

struct AccelMsiRouting {
  // A route for the MSI (address, data): its handle (a GSI for KVM).
  std::function<Result<int>(uint64_t address, uint32_t data)> add_msi_route;
  // The route's message changed (the guest reprogrammed the vector).
  std::function<Status(int route, uint64_t address, uint32_t data)> update_msi_route;
  std::function<void(int route)> release_msi_route;
  // Signalling `fd` raises `route` (on), or no more (off).
  std::function<Status(int fd, int route, bool on)> set_irqfd;
};

// The accelerator's routing, or nullptr. Set by the accelerator before machine creation.
AccelMsiRouting* accel_msi_routing();
void accel_set_msi_routing(AccelMsiRouting* routing);

// The level of GSI `gsi` on the accelerator's interrupt controllers (KVM_IRQ_LINE), for the
// machines whose 8259s and I/O APIC are the accelerator's (accel_kernel_irqchip()). Set by the
// accelerator; without one the call does nothing.
void accel_set_gsi_handler(std::function<void(unsigned gsi, int level)> fn);
void accel_set_gsi(unsigned gsi, int level);

// The edge/level control registers (ELCR, ports 0x4d0/0x4d1) of the accelerator's 8259 pair, as
// firmware leaves them. Returns false when the 8259s are not the accelerator's (no handler set):
// the caller then writes the ports of machina's own 8259 models.
void accel_set_elcr_handler(std::function<void(uint8_t master, uint8_t slave)> fn);
bool accel_set_elcr(uint8_t master, uint8_t slave);

}  // namespace machina
