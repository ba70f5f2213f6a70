// One x86 CPU run by KVM (QEMU's kvm_cpu_exec): the vCPU file descriptor and its shared kvm_run
// page, KVM_RUN until something needs the vCPU thread, port I/O and MMIO exits dispatched through
// address_space_io() / address_space_memory() under the big lock exactly as the software CPU
// does, interrupts from machina's local APIC model injected with KVM_INTERRUPT (asking KVM for an
// interrupt window when the guest cannot take one yet) unless the irqchip is KVM's
// (kernel-irqchip=on: KVM injects, and HLT waits in the kernel), NMI with KVM_NMI. The CPU object's
// CpuState is loaded into KVM when something outside set it (X86Cpu::state_generation) and read
// back when the vCPU stops.
#pragma once

#include <linux/kvm.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "qapi/error.h"
#include "target/i386/x86-cpu.h"

namespace machina::kvm {

enum class KvmExitReason : uint8_t {
  ExitRequest,  // kCpuIrqExit was raised (pause, stop, quit)
  Halted,       // HLT with nothing to wake it
  TripleFault,  // KVM_EXIT_SHUTDOWN: the machine must reset
  Stop,         // the guest asked for a shutdown or reset (KVM_EXIT_SYSTEM_EVENT)
  Error,        // KVM failed (internal error, entry failure, an ioctl): error() says what
};

// MMIO write exits at `addr` by any vCPU since the process started (for tests that check a write
// was caught in the kernel, by an ioeventfd, and never reached machina).
uint64_t kvm_mmio_write_exits_at(uint64_t addr);
// Port I/O write exits at `port`, likewise.
uint64_t kvm_pio_write_exits_at(uint16_t port);

class KvmCpuExec {
 public:
  // Creates (or reuses) the vCPU for `cpu` (its APIC ID), maps kvm_run, sets CPUID.
  static Result<std::unique_ptr<KvmCpuExec>> create(x86::X86Cpu& cpu);
  ~KvmCpuExec();
  KvmCpuExec(const KvmCpuExec&) = delete;
  KvmCpuExec& operator=(const KvmCpuExec&) = delete;

  // Runs the guest on the calling thread (which kick() interrupts) until a reason to stop.
  KvmExitReason run();
  // Whether a halted CPU has something that wakes it.
  bool has_work() const;
  // Reads the vCPU's registers into the CPU object's CpuState (after run() returned).
  Status sync_state_from_kvm();
  // Makes run() return soon (thread-safe): KVM_RUN is left through immediate_exit, and a signal
  // interrupts a KVM_RUN already in progress.
  void kick();
  // The thread that calls run() (kick() signals it); cleared before that thread exits.
  void set_thread(bool running);
  const std::string& error() const { return error_; }
  // Exits taken (for benchmarks and tests).
  uint64_t exits() const { return exits_; }
  // Of which port I/O and MMIO.
  uint64_t io_exits() const { return io_exits_; }
  uint64_t mmio_exits() const { return mmio_exits_; }

 private:
  KvmCpuExec(x86::X86Cpu& cpu, int fd, kvm_run* run, size_t run_size);
  Status load_state();
  void inject_interrupts(uint32_t req);
  void handle_io();
  void handle_mmio();
  KvmExitReason fail(std::string msg);

  x86::X86Cpu& cpu_;
  int fd_;
  kvm_run* run_;
  size_t run_size_;
  uint64_t loaded_gen_ = ~uint64_t{0};
  bool if_flag_ = false;
  bool irqchip_in_kernel_ = false;  // KVM's local APIC: no KVM_INTERRUPT, no CR8 sync
  uint64_t lapic_epoch_ = 0;        // the kvm_irqchip_reset_epoch its local APIC was reset at
  uint64_t exits_ = 0, io_exits_ = 0, mmio_exits_ = 0;
  std::string error_;
  std::mutex thread_lock_;
  bool thread_running_ = false;
  pthread_t thread_{};
};

}  // namespace machina::kvm
