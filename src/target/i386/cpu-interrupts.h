// The interface between an x86 CPU (software CPU or KVM vCPU) and its local interrupt controller
// (the local APIC model), so that both accelerators share the same interrupt controller models.
#pragma once

#include <cstdint>

namespace machina::x86 {

// Interrupt request bits a CPU can have pending (QEMU's CPU_INTERRUPT_*).
enum CpuInterruptRequest : uint32_t {
  kCpuIrqHard = 1u << 0,  // a maskable interrupt is pending at the local interrupt controller
  kCpuIrqNmi = 1u << 1,   // NMI (edge: cleared by the CPU when it takes it)
  kCpuIrqInit = 1u << 2,  // INIT IPI (edge)
  kCpuIrqSipi = 1u << 3,  // start-up IPI (edge; vector given with deliver_sipi)
  kCpuIrqSmi = 1u << 4,   // SMI (edge)
  kCpuIrqExit = 1u << 5,  // leave the execution loop (pause, stop, reset, debug); not an interrupt
};

// IA32_APIC_BASE's bootstrap-processor flag.
inline constexpr uint64_t kApicBaseBsp = 1u << 8;

// Implemented by the CPU: how an interrupt controller signals it. Thread-safe; may be called from
// any thread. raise_interrupt() also kicks the vCPU out of HLT and out of its execution loop
// soon enough for the interrupt to be taken at the next instruction boundary.
class CpuInterruptTarget {
 public:
  virtual ~CpuInterruptTarget() = default;
  virtual void raise_interrupt(uint32_t mask) = 0;
  virtual void lower_interrupt(uint32_t mask) = 0;
  // A start-up IPI with its vector (the CPU starts at vector << 12 in real mode).
  virtual void deliver_sipi(uint8_t vector) = 0;
  // The CPU's initial APIC ID.
  virtual uint32_t apic_id() const = 0;
};

// Implemented by the local interrupt controller: what the CPU asks of it. Called on the vCPU
// thread with the big lock (util/bql.h) held.
class LocalInterruptController {
 public:
  virtual ~LocalInterruptController() = default;
  // Called when the CPU can take a maskable interrupt (RFLAGS.IF set, no interrupt shadow) and
  // kCpuIrqHard is pending: returns the vector to deliver, accepting it (IRR -> ISR, or an
  // ExtINT acknowledge cycle to the 8259), or -1 if nothing is deliverable any more. Updates
  // kCpuIrqHard on the target to reflect what is still pending.
  virtual int acknowledge_interrupt() = 0;
  // CR8: TPR bits 7:4.
  virtual uint8_t cr8() const = 0;
  virtual void set_cr8(uint8_t value) = 0;
  // IA32_APIC_BASE (MSR 0x1b). set_apic_base returns false for a value the CPU answers with #GP.
  virtual uint64_t apic_base() const = 0;
  virtual bool set_apic_base(uint64_t value) = 0;
  // The CPU was reset (INIT or RESET): the controller returns to its power-on state.
  virtual void cpu_reset() = 0;
};

// The local interrupt controller of the CPU the calling thread runs (set by each vCPU thread;
// nullptr on other threads): a CPU's accesses to the xAPIC page reach its own APIC.
LocalInterruptController* current_cpu_interrupt_controller();
void set_current_cpu_interrupt_controller(LocalInterruptController* lic);

}  // namespace machina::x86
