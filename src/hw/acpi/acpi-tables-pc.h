// The ACPI tables of the q35 PC: RSDP (revision 2), XSDT and RSDT, FADT (revision 6), FACS, DSDT,
// MADT and MCFG, built as one blob for a given guest-physical address (no HPET: machina has none).
//
// Platform choices (what the tables promise, and what the devices must do):
// - ACPI is always enabled: FADT SMI_CMD is 0 (ACPI_ENABLE/ACPI_DISABLE 0), and the ICH9 PM block
//   (ich9-pm.h) comes out of reset with SCI_EN set. ACPICA (Linux) treats a zero SMI_CMD as "the
//   hardware is in ACPI mode" and never tries a mode switch.
// - PM registers at pm_base (QEMU's q35: 0x600): PM1a_EVT +0 (4 bytes), PM1a_CNT +4 (2), PM_TMR
//   +8 (4, 24-bit: TMR_VAL_EXT clear, as the ICH9 and QEMU), GPE0 +0x20 (16). SCI on GSI 9, level,
//   active high (MADT interrupt source override).
// - Power button: the fixed-feature button (PWR_BUTTON flag clear, PWRBTN_STS in PM1). There is no
//   PNP0C0C device: ACPI allows a button to be either a fixed feature or a control-method device,
//   not both. Sleep button: none (SLP_BUTTON set).
// - Reset: the reset register is I/O port 0xCF9 (the ICH9 reset control register), value 0x06.
// - \_S5 = {0, 0, 0, 0}: SLP_TYP 0 means soft-off, as QEMU's q35 (ich9-pm also takes the ICH9 value
// 7).
// - PCI: \_SB.PCI0 (PNP0A08, compatible PNP0A03) decodes buses 0-255, I/O 0-0xCF7 and
//   0xD00-0xFFFF, the VGA window, the 32-bit hole [end of low RAM, ECAM) and [ECAM end,
//   0xFEC00000), and a 64-bit window above RAM. _PRT routes INTA-D as the ICH9 defaults of QEMU's
//   q35 LPC: slots 0-24 to PIRQ E-H rotating by slot, slots 25-29 and 31 to PIRQ A-D, slot 30 to
//   PIRQ E-H. In APIC mode (_PIC(1)) PIRQ A-H are GSI 16-23 (link devices GSIA-GSIH); in PIC mode
//   the link devices LNKA-LNKH program the LPC's PIRQ routing registers (PCI config 0x60-0x63,
//   0x68-0x6B of 00:1f.0).
// - PCI hot-plug: with pci_hotplug, the ACPI hot-plug methods and devices of pcihp-aml.h, GPE0
//   bit 1 handled by \_GPE._E01, and _OSC grants everything but native hot-plug; without it, _OSC
//   grants native hot-plug too.
// - ECAM (MCFG) is also claimed by a PNP0C02 motherboard-resources device, so Linux accepts it
//   even when the e820 map does not reserve it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hw/acpi/aml-build.h"
#include "hw/acpi/pcihp-aml.h"

namespace machina {

struct PcAcpiSerialPort {
  uint16_t iobase = 0;
  uint8_t irq = 0;
};

struct PcAcpiConfig {
  // CPUs: their APIC ids (ACPI processor UID = index). Must not be empty.
  std::vector<uint32_t> apic_ids{0};
  uint64_t lapic_addr = 0xfee00000;
  // The I/O APIC: its id (-1: the number of CPUs, i.e. the first id after the CPUs'), address and
  // first GSI.
  int ioapic_id = -1;
  uint64_t ioapic_addr = 0xfec00000;
  uint32_t ioapic_gsi_base = 0;

  // RAM split (pc.h's PcRamLayout).
  uint64_t below_4g_mem_size = 128ull << 20;
  uint64_t above_4g_mem_size = 0;

  // PCI Express ECAM (MCFG), segment 0, buses 0-255.
  uint64_t ecam_base = 0xb0000000;
  uint64_t ecam_size = 0x10000000;
  // 64-bit PCI window: starts at the first 1 GiB boundary above RAM above 4 GiB (4 GiB without
  // such RAM); 0: none.
  uint64_t pci_hole64_size = 32ull << 30;

  // ICH9 power management.
  uint16_t pm_base = 0x600;
  uint16_t sci_irq = 9;
  uint32_t smi_cmd = 0;  // 0: ACPI always enabled (see above)
  uint8_t acpi_enable_cmd = 0;
  uint8_t acpi_disable_cmd = 0;
  uint16_t reset_port = 0xcf9;
  uint8_t reset_value = 0x06;

  // ACPI PCI hot-plug (pcihp.h, pcihp-aml.h): the register block's I/O port and the root ports
  // it serves. When on, _OSC keeps native PCI Express hot-plug from the OS (QEMU 7.2's q35).
  bool pci_hotplug = false;
  uint16_t pci_hotplug_io_base = 0x0cc4;
  std::vector<PcAcpiHotplugPort> pci_hotplug_ports;

  // Legacy devices on the LPC, described in the DSDT.
  std::vector<PcAcpiSerialPort> serial_ports{{0x3f8, 4}};
  bool i8042 = true;
};

inline constexpr uint8_t kFadtRevision = 6;
inline constexpr size_t kFadtLength = 276;  // ACPI 6.0 (hypervisor vendor identity 0)
inline constexpr size_t kFacsLength = 64;
inline constexpr size_t kRsdpLength = 36;

// FADT field offsets (ACPI 5.2.9) and flags.
namespace fadt {
inline constexpr size_t kFirmwareCtrl = 36;
inline constexpr size_t kDsdt = 40;
inline constexpr size_t kPreferredPmProfile = 45;
inline constexpr size_t kSciInt = 46;
inline constexpr size_t kSmiCmd = 48;
inline constexpr size_t kAcpiEnable = 52;
inline constexpr size_t kAcpiDisable = 53;
inline constexpr size_t kPm1aEvtBlk = 56;
inline constexpr size_t kPm1aCntBlk = 64;
inline constexpr size_t kPmTmrBlk = 76;
inline constexpr size_t kGpe0Blk = 80;
inline constexpr size_t kPm1EvtLen = 88;
inline constexpr size_t kPm1CntLen = 89;
inline constexpr size_t kPmTmrLen = 91;
inline constexpr size_t kGpe0BlkLen = 92;
inline constexpr size_t kPLvl2Lat = 96;
inline constexpr size_t kPLvl3Lat = 98;
inline constexpr size_t kCentury = 108;
inline constexpr size_t kIapcBootArch = 109;
inline constexpr size_t kFlags = 112;
inline constexpr size_t kResetReg = 116;
inline constexpr size_t kResetValue = 128;
inline constexpr size_t kMinorVersion = 131;
inline constexpr size_t kXFirmwareCtrl = 132;
inline constexpr size_t kXDsdt = 140;
inline constexpr size_t kXPm1aEvtBlk = 148;
inline constexpr size_t kXPm1aCntBlk = 172;
inline constexpr size_t kXPmTmrBlk = 208;
inline constexpr size_t kXGpe0Blk = 220;

inline constexpr uint32_t kFlagWbinvd = 1u << 0;
inline constexpr uint32_t kFlagProcC1 = 1u << 2;
inline constexpr uint32_t kFlagPwrButton = 1u << 4;  // set: control-method power button
inline constexpr uint32_t kFlagSlpButton = 1u << 5;  // set: control-method sleep button / none
inline constexpr uint32_t kFlagRtcS4 = 1u << 7;
inline constexpr uint32_t kFlagTmrValExt = 1u << 8;
inline constexpr uint32_t kFlagResetRegSup = 1u << 10;
inline constexpr uint32_t kFlagUsePlatformClock = 1u << 15;

inline constexpr uint16_t kBootArchLegacyDevices = 1u << 0;
inline constexpr uint16_t kBootArch8042 = 1u << 1;
}  // namespace fadt

// MADT entry types (ACPI 5.2.12).
namespace madt {
inline constexpr uint8_t kLocalApic = 0;
inline constexpr uint8_t kIoApic = 1;
inline constexpr uint8_t kInterruptOverride = 2;
inline constexpr uint8_t kLocalApicNmi = 4;
inline constexpr uint8_t kLocalX2Apic = 9;
inline constexpr uint8_t kLocalX2ApicNmi = 10;
inline constexpr uint32_t kFlagPcatCompat = 1;
}  // namespace madt

// Single tables. Addresses are guest-physical.
AmlBytes build_pc_dsdt(const PcAcpiConfig& cfg);
AmlBytes build_pc_fadt(const PcAcpiConfig& cfg, uint64_t facs_addr, uint64_t dsdt_addr);
AmlBytes build_pc_facs();
AmlBytes build_pc_madt(const PcAcpiConfig& cfg);
AmlBytes build_pc_mcfg(const PcAcpiConfig& cfg);
AmlBytes build_xsdt(const std::vector<uint64_t>& tables);
AmlBytes build_rsdt(const std::vector<uint32_t>& tables);
AmlBytes build_rsdp(uint64_t xsdt_addr, uint32_t rsdt_addr);

// The whole set laid out from `base`: RSDP first (16-byte aligned), then FACS (64-byte aligned),
// DSDT, FADT, MADT, MCFG, XSDT, RSDT.
struct AcpiTableBlob {
  AmlBytes bytes;  // to be copied to guest memory at `base`
  uint64_t base = 0;
  uint64_t rsdp_addr = 0;
  std::map<std::string, uint64_t> table_addr;  // by signature ("FACP", "DSDT", ...)
};
// `base` must be 16-byte aligned.
AcpiTableBlob build_pc_acpi_tables(const PcAcpiConfig& cfg, uint64_t base);

// The same tables as QEMU hands them to firmware through fw_cfg: "etc/acpi/tables" (every table
// but the RSDP, pointers holding offsets into the file), "etc/acpi/rsdp", and "etc/table-loader",
// the commands (128 bytes each) that tell the firmware to allocate both files (the RSDP in the
// F segment), add the tables' address to each pointer and recompute the checksums.
struct AcpiFwCfgFiles {
  AmlBytes tables;
  AmlBytes rsdp;
  AmlBytes loader;
};
AcpiFwCfgFiles build_pc_acpi_fw_cfg_files(const PcAcpiConfig& cfg);

// Table loader commands (QEMU's BIOSLinkerLoader).
namespace table_loader {
inline constexpr size_t kEntrySize = 128;
inline constexpr size_t kFileNameSize = 56;
inline constexpr uint32_t kAllocate = 1;
inline constexpr uint32_t kAddPointer = 2;
inline constexpr uint32_t kAddChecksum = 3;
inline constexpr uint8_t kZoneHigh = 1;
inline constexpr uint8_t kZoneFSeg = 2;
inline constexpr char kTablesFile[] = "etc/acpi/tables";
inline constexpr char kRsdpFile[] = "etc/acpi/rsdp";
inline constexpr char kLoaderFile[] = "etc/table-loader";
}  // namespace table_loader

}  // namespace machina
