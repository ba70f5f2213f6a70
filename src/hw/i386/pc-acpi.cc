// The q35 PC's ACPI tables in guest RAM: see pc-acpi.h.
#include "hw/i386/pc-acpi.h"

#include "hw/char/serial-isa.h"
#include "hw/i386/pc.h"
#include "hw/isa/lpc_ich9.h"
#include "hw/pci-host/q35-firmware.h"
#include "hw/pci-host/q35.h"
#include "system/memory.h"

namespace machina {

PcAcpiConfig pc_acpi_config(PcMachine& machine, const std::vector<uint32_t>& apic_ids) {
  PcAcpiConfig cfg;
  cfg.apic_ids = apic_ids;
  cfg.ioapic_id = 0;  // the I/O APIC's ID register after reset
  cfg.below_4g_mem_size = machine.below_4g_mem_size();
  cfg.above_4g_mem_size = machine.above_4g_mem_size();
  cfg.ecam_base = kMchPciexbarDefault;
  cfg.ecam_size = kMchPciexbarMax;
  cfg.pm_base = kQ35AcpiPmBase;
  cfg.sci_irq = 9;
  if (AcpiPciHp* hp = machine.pm().pci_hotplug()) {
    cfg.pci_hotplug = true;
    cfg.pci_hotplug_io_base = kAcpiPciHpIoBaseIch9;
    for (const AcpiPciHpPort& p : hp->ports()) {
      cfg.pci_hotplug_ports.push_back({p.bsel, p.port_devfn});
    }
  }
  cfg.serial_ports.clear();
  for (Device* d : machine.isa_bus().devices()) {
    if (auto* s = dynamic_cast<IsaSerial*>(d)) {
      cfg.serial_ports.push_back({uint16_t(s->iobase), uint8_t(s->isairq)});
    }
  }
  return cfg;
}

Result<uint64_t> pc_acpi_install(const PcAcpiConfig& cfg) {
  AcpiTableBlob blob = build_pc_acpi_tables(cfg, kPcAcpiTablesBase);
  if (blob.bytes.size() > kPcAcpiTablesMax) {
    return generic_error("ACPI tables (" + std::to_string(blob.bytes.size()) +
                         " bytes) do not fit in the F segment");
  }
  if (Status s = dma_write(address_space_memory(), blob.base, blob.bytes.data(), blob.bytes.size());
      !s.ok())
    return generic_error("cannot write the ACPI tables: " + s.message());
  return blob.rsdp_addr;
}

}  // namespace machina
