// The PC's processors, firmware interfaces and boot.
#include "hw/i386/pc-platform.h"

#include <cstdio>

#include "hw/core/sysbus.h"
#include "hw/i386/pc-acpi.h"
#include "hw/i386/pc-linux-boot.h"
#include "hw/i386/pc.h"
#include "hw/i386/x86-cpus.h"
#include "hw/i386/x86-direct-boot.h"
#include "hw/nvram/fw_cfg.h"
#include "hw/pci-host/q35.h"
#include "system/runstate.h"

namespace machina {

namespace {

struct PcPlatform {
  X86Cpus cpus;
  PcLinuxBoot boot;
  FwCfg* fw_cfg = nullptr;
  PcAcpiConfig acpi;
};

PcPlatform& platform() {
  static PcPlatform* p = new PcPlatform;  // lives as long as the process
  return *p;
}

}  // namespace

Status pc_platform_init(PcMachine& machine, const MachineParams& params) {
  PcPlatform& p = platform();
  if (Status s = p.cpus.init(machine, params.smp, params.cpu_model); !s.ok()) return s;

  const PcRamLayout& l = machine.ram_layout();
  std::vector<E820Entry> e820 = pc_e820_map(l.below_4g, l.above_4g);
  // ECAM, as firmware reserves it.
  e820.push_back({kMchPciexbarDefault, kMchPciexbarMax, uint32_t(E820Type::Reserved)});
  if (Status s = p.boot.init(params, p.cpus.cpus(), e820, l.below_4g, kPcAcpiTablesBase); !s.ok())
    return s;

  auto fw = sysbus_create(kTypeFwCfgIo, "fw_cfg");
  if (!fw.ok()) return fw.error();
  p.fw_cfg = static_cast<FwCfg*>(fw.value());
  if (Status s = fw_cfg_add_pc_items(*p.fw_cfg, params.ram_size, uint16_t(params.smp.cpus),
                                     uint16_t(params.smp.max_cpus), params.nographic, e820);
      !s.ok())
    return s;
  return p.boot.add_fw_cfg_items(*p.fw_cfg);
}

Status pc_platform_machine_done(PcMachine& machine) {
  PcPlatform& p = platform();
  std::vector<uint32_t> apic_ids;
  for (x86::X86Cpu* cpu : p.cpus.cpus()) apic_ids.push_back(cpu->apic_id());
  p.acpi = pc_acpi_config(machine, apic_ids);
  auto rsdp = pc_acpi_install(p.acpi);
  if (!rsdp.ok()) return rsdp.error();
  if (rsdp.value() != kPcAcpiTablesBase) return generic_error("ACPI: RSDP is not at the F segment");
  AcpiFwCfgFiles files = build_pc_acpi_fw_cfg_files(p.acpi);
  for (auto& [name, data] : {std::pair{table_loader::kTablesFile, &files.tables},
                             std::pair{table_loader::kRsdpFile, &files.rsdp},
                             std::pair{table_loader::kLoaderFile, &files.loader}}) {
    if (Status s = p.fw_cfg->set_file(name, std::move(*data)); !s.ok()) return s;
  }
  qemu_register_reset([&p] {
    if (auto r = pc_acpi_install(p.acpi); !r.ok())
      std::fprintf(stderr, "machina: reset: %s\n", r.message().c_str());
  });
  return Status::Ok();
}

}  // namespace machina
