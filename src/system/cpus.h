// vCPUs as the rest of the system sees them (QEMU's system/cpus.c): the accelerator in use, and
// pausing, resuming and resetting every vCPU together (stop/cont, system_reset, shutdown).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "qapi/error.h"

namespace machina {

// One vCPU as an accelerator runs it. Implemented per accelerator (tcg, kvm).
class Device;

class Vcpu {
 public:
  virtual ~Vcpu() = default;
  // Lets the vCPU run guest code. Thread-safe.
  virtual void resume() = 0;
  // Stops it at an instruction boundary and returns once it has stopped (drops the big lock
  // while waiting if the caller holds it).
  virtual void pause() = 0;
  // Ends its thread for good (machine teardown). Returns once the thread has exited.
  virtual void terminate() = 0;
  // Whether the accelerator gave up on the guest (a KVM internal error); the VM is then stopped
  // in the "internal-error" state. Thread-safe.
  virtual bool failed() const { return false; }
  // The CPU device it runs, and the host thread running it (Linux thread ID; waits until the
  // thread has started). For query-cpus-fast.
  virtual const Device* cpu_device() const = 0;
  virtual pid_t thread_id() const = 0;
};

// The host thread ID running `cpu`: its vCPU thread, or the main thread when the accelerator runs
// no guest code (qtest, none), as QEMU reports its dummy vCPU thread.
pid_t vcpu_thread_id(const Device& cpu);

// The accelerator chosen on the command line: "tcg", "kvm", "qtest" or "none".
const std::string& current_accel();
void set_current_accel(std::string name);
// Whether the accelerator keeps the interrupt controllers (KVM with kernel-irqchip=on: its 8259
// pair, I/O APIC, local APICs and PIT): a machine then must not create models of its own.
bool accel_kernel_irqchip();
void set_accel_kernel_irqchip(bool on);

class Device;

// How an accelerator runs a CPU device: registered per accelerator name ("tcg"), used when a
// CPU is realized. A created vCPU starts stopped; vm_start resumes it. An error (the accelerator
// could not create the vCPU: a KVM ioctl failed) ends machine creation with its message.
using VcpuFactory = std::function<Result<std::unique_ptr<Vcpu>>(Device& cpu)>;
void accel_register_vcpu_factory(const std::string& accel, VcpuFactory factory);
// A vCPU for `cpu` under the current accelerator, registered with cpus_register; nullptr when
// the accelerator runs no guest code (qtest, none).
Result<std::unique_ptr<Vcpu>> accel_create_vcpu(Device& cpu);

// Called by accelerators as they create and destroy vCPUs.
void cpus_register(Vcpu* vcpu);
void cpus_unregister(Vcpu* vcpu);

// vm_start / vm_stop: all vCPUs run or are stopped.
void cpus_resume_all();
void cpus_pause_all();
// At exit: stops every vCPU thread.
void cpus_terminate_all();

}  // namespace machina
