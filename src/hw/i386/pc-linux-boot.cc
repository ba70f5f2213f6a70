// Direct Linux boot on a PC.
#include "hw/i386/pc-linux-boot.h"

#include <cstdio>

#include "system/runstate.h"

namespace machina {

Status PcLinuxBoot::init(const MachineParams& params, std::vector<x86::X86Cpu*> cpus,
                         std::vector<E820Entry> e820, uint64_t below_4g, uint64_t acpi_rsdp) {
  cpus_ = std::move(cpus);
  if (params.kernel.empty()) {
    if (!params.initrd.empty()) return generic_error("-initrd cannot be used without -kernel");
    if (!params.append.empty()) return generic_error("-append cannot be used without -kernel");
    // There is no firmware to run from the reset vector: without a kernel the CPUs wait,
    // halted with interrupts off (the machine still serves QMP and its devices).
    auto park = [this] {
      for (x86::X86Cpu* cpu : cpus_) cpu->state().halted = true;
    };
    park();
    qemu_register_reset(park);
    return Status::Ok();
  }
  cfg_.kernel = params.kernel;
  cfg_.initrd = params.initrd;
  cfg_.cmdline = params.append;
  cfg_.e820 = std::move(e820);
  cfg_.below_4g_ram = below_4g;
  cfg_.acpi_rsdp_addr = acpi_rsdp;
  if (Status s = boot(); !s.ok()) return s;
  qemu_register_reset([this] {
    if (Status s = boot(); !s.ok())
      std::fprintf(stderr, "machina: reboot failed: %s\n", s.message().c_str());
  });
  return Status::Ok();
}

Status PcLinuxBoot::boot() {
  for (x86::X86Cpu* cpu : cpus_) cpu->reset_state(false);
  auto st = x86_load_linux(cfg_);
  if (!st.ok()) return st.error();
  const DirectBootState& b = st.value();
  cpus_.front()->enter_long_mode(b.cr3, b.gdt_base, b.gdt_limit, b.entry, b.zero_page);
  return Status::Ok();
}

}  // namespace machina
