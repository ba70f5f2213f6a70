// The PC's processors and boot.
#include "hw/i386/pc-platform.h"

#include <memory>

#include "hw/i386/pc-linux-boot.h"
#include "hw/i386/pc.h"
#include "hw/i386/x86-cpus.h"
#include "hw/i386/x86-direct-boot.h"

namespace machina {

namespace {

struct PcPlatform {
  X86Cpus cpus;
  PcLinuxBoot boot;
};

}  // namespace

Status pc_platform_init(PcMachine& machine, const MachineParams& params) {
  static PcPlatform* platform = new PcPlatform;  // lives as long as the process
  if (Status s = platform->cpus.init(machine, params.smp_cpus, params.cpu_model); !s.ok()) return s;
  const PcRamLayout& l = machine.ram_layout();
  return platform->boot.init(params, platform->cpus.cpus(), pc_e820_map(l.below_4g, l.above_4g),
                             l.below_4g, 0);
}

}  // namespace machina
