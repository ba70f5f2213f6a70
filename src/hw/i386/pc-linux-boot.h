// Direct Linux boot on a PC: loads -kernel/-initrd/-append and starts the boot CPU at the
// kernel's 64-bit entry, at start-up and again after every system reset (there is no firmware
// to do it).
#pragma once

#include <string>
#include <vector>

#include "hw/core/machine.h"
#include "hw/i386/x86-direct-boot.h"
#include "hw/nvram/fw_cfg.h"
#include "qapi/error.h"
#include "target/i386/x86-cpu.h"

namespace machina {

class PcLinuxBoot {
 public:
  // Loads the kernel now (errors name the file) and registers the reset handler.
  Status init(const MachineParams& params, std::vector<x86::X86Cpu*> cpus,
              std::vector<E820Entry> e820, uint64_t below_4g, uint64_t acpi_rsdp);
  // Adds QEMU's Linux boot items (kernel, setup, initrd, command line) to `fw`, as they were
  // loaded. Nothing without -kernel.
  Status add_fw_cfg_items(FwCfg& fw) const;

 private:
  Status boot();

  DirectBootConfig cfg_;
  DirectBootState state_;
  std::vector<x86::X86Cpu*> cpus_;
};

}  // namespace machina
