// The q35 PC's ACPI tables as machina's direct boot hands them to the guest (there is no firmware
// to build them): the configuration read from the running machine, and the tables written into
// guest RAM in the F segment (0xF0000-0xFFFFF, reserved in the e820 map), where the boot
// protocol's acpi_rsdp_addr points and where a legacy RSDP scan also finds them.
#pragma once

#include <cstdint>
#include <vector>

#include "hw/acpi/acpi-tables-pc.h"
#include "qapi/error.h"

namespace machina {

class PcMachine;

inline constexpr uint64_t kPcAcpiTablesBase = 0xf0000;
inline constexpr uint64_t kPcAcpiTablesMax = 0x10000;

// What the tables describe: the CPUs' APIC ids, the RAM split, ECAM, the PM block, and the
// COM ports found on the machine's ISA bus.
PcAcpiConfig pc_acpi_config(PcMachine& machine, const std::vector<uint32_t>& apic_ids);

// Builds the tables for `cfg` at kPcAcpiTablesBase and writes them into guest RAM. Returns the
// RSDP's address.
Result<uint64_t> pc_acpi_install(const PcAcpiConfig& cfg);

}  // namespace machina
