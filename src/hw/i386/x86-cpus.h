// The CPUs of an x86 machine and their interrupt plumbing (QEMU's hw/i386/x86.c x86_cpus_init
// and the APIC wiring of pc.c): one CPU device per -smp CPU with its local APIC, the I/O APIC,
// the 8259's INT on the boot CPU's LINT0, and a vCPU from the current accelerator.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hw/core/machine-smp.h"
#include "hw/intc/apic.h"
#include "hw/intc/ioapic.h"
#include "qapi/error.h"
#include "system/cpus.h"
#include "target/i386/x86-cpu.h"

namespace machina {

class PcMachine;

class X86Cpus {
 public:
  X86Cpus() = default;
  ~X86Cpus();
  X86Cpus(const X86Cpus&) = delete;
  X86Cpus& operator=(const X86Cpus&) = delete;

  // Creates `smp.cpus` CPUs of `model` ("" = default) at /machine/unattached/device[N] with their
  // APICs (child "lapic"), CPU n at its place in the topology (APIC ID
  // x86_apicid_from_index(n)), maps the xAPIC page, creates the I/O APIC at /machine/ioapic on
  // the GSI fan-out and connects the 8259 pair to the boot CPU — or, with KVM's irqchip
  // (accel_kernel_irqchip), sends GSI 16-23 to it instead of creating an I/O APIC. Errors:
  // unknown model (as QEMU: "unable to find CPU model 'x'"), bad count, APIC IDs beyond 254.
  Status init(PcMachine& machine, const CpuTopology& smp, const std::string& model);

  x86::X86Cpu& bsp() { return *cpus_.front(); }
  const std::vector<x86::X86Cpu*>& cpus() const { return cpus_; }
  IoApic* ioapic() { return ioapic_; }  // nullptr with KVM's irqchip

 private:
  std::vector<x86::X86Cpu*> cpus_;
  std::vector<Apic*> apics_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  IoApic* ioapic_ = nullptr;
  std::vector<std::unique_ptr<IrqLine>> accel_gsi_lines_;
};

}  // namespace machina
