// What the pieces of the KVM accelerator share (QEMU's kvm_int.h): the VM's file descriptors and
// capabilities, ioctl helpers, vCPU file descriptors kept across CPU objects, and the memory
// listener that keeps the memory slots.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <string>
#include <vector>

#include "qapi/error.h"

namespace machina::kvm {

struct KvmState {
  int fd = -1;     // /dev/kvm
  int vm_fd = -1;  // the VM
  int vcpu_mmap_size = 0;
  int max_slots = 32;
  bool readonly_mem = false;                      // KVM_CAP_READONLY_MEM: ROM slots
  bool immediate_exit = false;                    // KVM_CAP_IMMEDIATE_EXIT
  bool coalesced_mmio = false;                    // reported only
  bool ioeventfds = false;                        // KVM_CAP_IOEVENTFD: the listener is on
  bool irqchip_in_kernel = false;                 // kernel-irqchip=on: KVM_CREATE_IRQCHIP done
  bool pit_in_kernel = false;                     // KVM_CREATE_PIT2 done
  bool adjust_clock = false;                      // KVM_CAP_ADJUST_CLOCK: kvm-clock.cc is on
  std::vector<kvm_cpuid_entry2> supported_cpuid;  // KVM_GET_SUPPORTED_CPUID
  std::vector<uint32_t> msrs;                     // KVM_GET_MSR_INDEX_LIST
};

// The state once kvm_init succeeded, else nullptr.
KvmState* kvm_state();

// ioctl on a KVM file descriptor; returns -errno on failure (EINTR is retried for the calls
// that are not KVM_RUN).
int kvm_ioctl(int fd, unsigned long request, void* arg = nullptr);
int kvm_ioctl_value(int fd, unsigned long request, unsigned long arg);
// KVM_CHECK_EXTENSION on /dev/kvm (or the VM once it exists).
int kvm_check_extension(int cap);

// A vCPU file descriptor for `vcpu_id`: a parked one (KVM cannot destroy a vCPU before its VM,
// so a CPU object that goes away leaves its descriptor for the next one with that id), or a new
// one from KVM_CREATE_VCPU.
// `reused` tells which: KVM refuses a new CPUID table once a vCPU has run, so a reused one keeps
// the table it was given first (the same model: `model` must match what it was parked with).
Result<int> kvm_get_vcpu_fd(unsigned long vcpu_id, const void* model, bool* reused);
void kvm_park_vcpu_fd(unsigned long vcpu_id, int fd, const void* model);

// Memory slots (kvm-memory-listener.cc): registers the listener on address_space_memory().
Status kvm_memory_listener_init(KvmState& s);
// Dirty-page logging (system/dirty_log.h) is driven by the memory API: its log_global_start/stop
// set KVM_MEM_LOG_DIRTY_PAGES on every RAM slot, its log_sync copies KVM_GET_DIRTY_LOG into the
// memory API's bitmap. These two are shortcuts over that interface (for tests):
// memory_global_dirty_log_start/stop for migration;
Status kvm_set_dirty_logging(bool on);
// and the guest-physical pages of the RAM slots written since logging began or since the last
// call (a sync, then the memory API's bitmap of each slot read and cleared): the guest's writes
// and machina's own (DMA, devices).
Result<std::vector<uint64_t>> kvm_get_dirty_pages();
// The slots now in use (for tests and `info kvm`-style reports): guest address, size, readonly.
struct KvmSlotInfo {
  uint64_t gpa, size;
  bool readonly;
};
std::vector<KvmSlotInfo> kvm_slots();

// The guest clock across stop/cont (kvm-clock.cc): saved with KVM_GET_CLOCK when the VM stops,
// put back with KVM_SET_CLOCK when it runs again (nothing without KVM_CAP_ADJUST_CLOCK).
void kvm_clock_init(KvmState& s);
// The VM's clock now (KVM_GET_CLOCK), for tests.
Result<uint64_t> kvm_clock_ns();

// ioeventfds (kvm-ioeventfd.cc): registers the listener that hands the memory API's ioeventfds
// to KVM_IOEVENTFD (nothing if KVM lacks KVM_CAP_IOEVENTFD).
void kvm_ioeventfd_listener_init(KvmState& s);
// The ioeventfds KVM holds now (for tests): address, length (0: any), port I/O, datamatch, fd.
struct KvmIoeventfdInfo {
  uint64_t addr;
  unsigned size;
  bool pio;
  bool match_data;
  uint64_t data;
  int fd;
};
std::vector<KvmIoeventfdInfo> kvm_ioeventfds();

// The in-kernel irqchip (kvm-irqchip.cc; kvm.h has what machines use).
// Creates it, the in-kernel PIT and the PC's GSI routes; sends the APIC bus's messages to it.
Status kvm_irqchip_create(KvmState& s);
// An MSI route on a GSI of its own (for an irqfd): its GSI.
Result<int> kvm_irqchip_add_msi_route(uint64_t addr, uint32_t data);
Status kvm_irqchip_update_msi_route(int gsi, uint64_t addr, uint32_t data);
void kvm_irqchip_release_msi_route(int gsi);
// KVM_IRQFD: signalling `fd` raises `gsi` in the kernel (on), or no more (off).
Status kvm_irqchip_set_irqfd(int fd, int gsi, bool on);
// What went to the in-kernel irqchip (for tests).
struct KvmIrqchipStats {
  uint64_t msis = 0;           // KVM_SIGNAL_MSI
  uint64_t irq_lines = 0;      // KVM_IRQ_LINE
  uint64_t route_commits = 0;  // KVM_SET_GSI_ROUTING
  int64_t irqfds = 0;          // assigned now
};
KvmIrqchipStats kvm_irqchip_stats();
// Machine reset (kvm-irqchip-reset.cc): KVM's 8259s (keeping the ELCR) and I/O APIC (every pin
// masked) to power-on state, and the reset epoch + 1, which tells each vCPU to reset its local
// APIC (kvm_lapic_reset, on its own thread) before it runs again.
Status kvm_irqchip_reset();
uint64_t kvm_irqchip_reset_epoch();
Status kvm_lapic_reset(int vcpu_fd, uint32_t apic_id, bool bsp);
// The ELCRs of KVM's 8259 pair (firmware's PIRQ set-up: q35_firmware_init), within their masks.
Status kvm_irqchip_set_elcr(uint8_t master, uint8_t slave);

}  // namespace machina::kvm
