// The q35 PC's ACPI tables. See acpi-tables-pc.h for the platform choices they describe.
#include "hw/acpi/acpi-tables-pc.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace machina {

namespace {

using namespace aml;

constexpr uint64_t k4GiB = 1ull << 32;
constexpr uint64_t k1GiB = 1ull << 30;
constexpr uint32_t kPciHoleEnd = 0xfec00000;  // the I/O APIC and the rest of the top are not PCI
constexpr int kPirqCount = 8;                 // PIRQ A-H
constexpr int kPirqGsiBase = 16;

// ICH9 PM block layout (offsets from PMBASE), see ich9-pm.h.
constexpr uint16_t kPm1EvtOffset = 0x00;
constexpr uint16_t kPm1CntOffset = 0x04;
constexpr uint16_t kPmTmrOffset = 0x08;
constexpr uint16_t kGpe0Offset = 0x20;
constexpr uint8_t kPm1EvtLen = 4;
constexpr uint8_t kPm1CntLen = 2;
constexpr uint8_t kPmTmrLen = 4;
constexpr uint8_t kGpe0Len = 16;

// The PIRQ (0-7 = A-H) that INTx pin `pin` (0-3 = INTA-INTD) of PCI slot `slot` drives: the
// defaults of QEMU's ICH9 LPC (D25IR-D31IR = 0x3210, D30 behind the DMI-to-PCI bridge on E-H,
// the rest rotating over E-H).
int q35_slot_pirq(int slot, int pin) {
  if (slot == 30) return 4 + pin;
  if (slot >= 25) return pin;
  return 4 + (slot + pin) % 4;
}

std::string indexed_name(const char* prefix, int i) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%s%c", prefix, 'A' + i);
  return buf;
}

Aml isa_device(const char* name, const char* hid, Aml crs) {
  Aml d = device(name);
  d.add(name_decl("_HID", eisa_id(hid)));
  d.add(name_decl("_CRS", std::move(crs)));
  return d;
}

// Legacy devices behind the LPC bridge.
void add_lpc_isa_devices(Aml& lpc, const PcAcpiConfig& cfg) {
  {
    Aml crs = resource_template();
    crs.add(res_io(IoDecode::Decode16, 0x20, 0x20, 1, 2));
    crs.add(res_io(IoDecode::Decode16, 0xa0, 0xa0, 1, 2));
    crs.add(res_irq_noflags(1u << 2));
    lpc.add(isa_device("PIC", "PNP0000", std::move(crs)));
  }
  {
    Aml crs = resource_template();
    crs.add(res_io(IoDecode::Decode16, 0x40, 0x40, 1, 4));
    crs.add(res_irq_noflags(1u << 0));
    lpc.add(isa_device("TMR", "PNP0100", std::move(crs)));
  }
  {
    Aml crs = resource_template();
    crs.add(res_io(IoDecode::Decode16, 0x61, 0x61, 1, 1));
    lpc.add(isa_device("SPKR", "PNP0800", std::move(crs)));
  }
  {
    Aml crs = resource_template();
    crs.add(res_io(IoDecode::Decode16, 0x70, 0x70, 1, 8));
    crs.add(res_irq_noflags(1u << 8));
    lpc.add(isa_device("RTC", "PNP0B00", std::move(crs)));
  }
  if (cfg.i8042) {
    Aml crs = resource_template();
    crs.add(res_io(IoDecode::Decode16, 0x60, 0x60, 1, 1));
    crs.add(res_io(IoDecode::Decode16, 0x64, 0x64, 1, 1));
    crs.add(res_irq_noflags(1u << 1));
    lpc.add(isa_device("KBD", "PNP0303", std::move(crs)));
    Aml mcrs = resource_template();
    mcrs.add(res_irq_noflags(1u << 12));
    lpc.add(isa_device("MOU", "PNP0F13", std::move(mcrs)));
  }
  int n = 0;
  for (const PcAcpiSerialPort& p : cfg.serial_ports) {
    ++n;
    Aml crs = resource_template();
    crs.add(res_io(IoDecode::Decode16, p.iobase, p.iobase, 1, 8));
    crs.add(res_irq_noflags(uint16_t(1u << p.irq)));
    std::string nm = "COM" + std::to_string(n);
    Aml d = device(nm);
    d.add(name_decl("_HID", eisa_id("PNP0501")));
    d.add(name_decl("_UID", integer(n)));
    d.add(name_decl("_CRS", std::move(crs)));
    lpc.add(std::move(d));
  }
}

// The LPC bridge (00:1f.0) with its PIRQ routing registers and the ISA devices.
Aml lpc_device(const PcAcpiConfig& cfg) {
  Aml lpc = device("SF8");
  lpc.add(name_decl("_ADR", integer(0x001f0000)));
  lpc.add(operation_region("PIRQ", RegionSpace::PciConfig, integer(0x60), integer(0x0c)));
  Aml f = field("PIRQ", FieldAccess::Byte, FieldLock::NoLock, FieldUpdate::Preserve);
  for (int i = 0; i < 4; ++i) f.add(named_field(indexed_name("PRQ", i), 8));
  f.add(reserved_field(32));
  for (int i = 4; i < 8; ++i) f.add(named_field(indexed_name("PRQ", i), 8));
  lpc.add(std::move(f));
  add_lpc_isa_devices(lpc, cfg);
  return lpc;
}

Aml pci0_crs(const PcAcpiConfig& cfg) {
  Aml crs = resource_template();
  crs.add(res_word_bus_number(ResUsage::Producer, 0x00, 0xff));
  crs.add(res_io(IoDecode::Decode16, 0xcf8, 0xcf8, 1, 8));
  crs.add(res_word_io(ResUsage::Producer, 0x0000, 0x0cf7));
  crs.add(res_word_io(ResUsage::Producer, 0x0d00, 0xffff));
  crs.add(res_dword_memory(ResUsage::Producer, MemCache::Cacheable, true, 0x000a0000, 0x000bffff));
  uint64_t low_end = cfg.below_4g_mem_size;
  uint64_t ecam_end = cfg.ecam_base + cfg.ecam_size;
  if (low_end < cfg.ecam_base) {
    crs.add(res_dword_memory(ResUsage::Producer, MemCache::NonCacheable, true, uint32_t(low_end),
                             uint32_t(cfg.ecam_base - 1)));
  }
  uint64_t hi_start = std::max(low_end, ecam_end);
  if (hi_start < kPciHoleEnd) {
    crs.add(res_dword_memory(ResUsage::Producer, MemCache::NonCacheable, true, uint32_t(hi_start),
                             kPciHoleEnd - 1));
  }
  if (cfg.pci_hole64_size) {
    uint64_t start = (k4GiB + cfg.above_4g_mem_size + k1GiB - 1) & ~(k1GiB - 1);
    crs.add(res_qword_memory(ResUsage::Producer, MemCache::NonCacheable, true, start,
                             start + cfg.pci_hole64_size - 1));
  }
  return crs;
}

// _OSC for the PCI Express root (ACPI 6.2.11, PCI Firmware 4.5): the OS gets control of all it
// asks for (native hot-plug, SHPC, PME, AER, PCIe capability), but native hot-plug when ACPI
// hot-plug serves the root ports (bit 0 of the control field).
Aml pci0_osc(bool acpi_hotplug) {
  Aml m = method("_OSC", 4);
  m.add(create_dword_field(arg(3), zero(), "CDW1"));
  Aml is_pci = if_(lequal(arg(0), uuid("33DB4D5B-1FF7-401C-9657-7441C03DD766")));
  is_pci.add(create_dword_field(arg(3), integer(4), "CDW2"));
  is_pci.add(create_dword_field(arg(3), integer(8), "CDW3"));
  is_pci.add(store(name("CDW2"), name("SUPP")));
  is_pci.add(store(name("CDW3"), name("CTRL")));
  is_pci.add(and_(name("CTRL"), integer(acpi_hotplug ? 0x1e : 0x1f), name("CTRL")));
  Aml bad_rev = if_(lnot_equal(arg(1), one()));
  bad_rev.add(or_(name("CDW1"), integer(0x08), name("CDW1")));  // unrecognized revision
  is_pci.add(std::move(bad_rev));
  Aml masked = if_(lnot_equal(name("CDW3"), name("CTRL")));
  masked.add(or_(name("CDW1"), integer(0x10), name("CDW1")));  // capabilities masked
  is_pci.add(std::move(masked));
  is_pci.add(store(name("CTRL"), name("CDW3")));
  m.add(std::move(is_pci));
  Aml other = else_();
  other.add(or_(name("CDW1"), integer(0x04), name("CDW1")));  // unrecognized UUID
  m.add(std::move(other));
  m.add(return_(arg(3)));
  return m;
}

// _PRT tables: one entry per slot and pin, naming a link device.
Aml prt_package(const char* link_prefix) {
  Aml pkg = package();
  for (int slot = 0; slot < 32; ++slot) {
    for (int pin = 0; pin < 4; ++pin) {
      Aml e = package();
      e.add(integer((uint64_t(slot) << 16) | 0xffff));
      e.add(integer(pin));
      e.add(name(indexed_name(link_prefix, q35_slot_pirq(slot, pin))));
      e.add(zero());
      pkg.add(std::move(e));
    }
  }
  return pkg;
}

Aml pci0_device(const PcAcpiConfig& cfg) {
  Aml pci = device("PCI0");
  pci.add(name_decl("_HID", eisa_id("PNP0A08")));
  pci.add(name_decl("_CID", eisa_id("PNP0A03")));
  pci.add(name_decl("_SEG", zero()));
  pci.add(name_decl("_UID", zero()));
  pci.add(name_decl("_BBN", zero()));
  pci.add(name_decl("SUPP", zero()));
  pci.add(name_decl("CTRL", zero()));
  pci.add(pci0_osc(cfg.pci_hotplug));
  pci.add(name_decl("_CRS", pci0_crs(cfg)));
  pci.add(name_decl("PRTP", prt_package("LNK")));
  pci.add(name_decl("PRTA", prt_package("GSI")));
  Aml prt = method("_PRT", 0);
  Aml apic = if_(name("\\PICF"));
  apic.add(return_(name("PRTA")));
  prt.add(std::move(apic));
  prt.add(return_(name("PRTP")));
  pci.add(std::move(prt));
  pci.add(lpc_device(cfg));
  if (cfg.pci_hotplug) add_pcihp_to_pci0(pci, cfg.pci_hotplug_io_base, cfg.pci_hotplug_ports);
  return pci;
}

Aml level_shared_interrupt(std::vector<uint32_t> irqs) {
  Aml crs = resource_template();
  crs.add(res_interrupt(ResUsage::Consumer, Trigger::Level, Polarity::ActiveHigh, Sharing::Shared,
                        irqs));
  return crs;
}

// PIC-mode helpers: the _STA and _CRS of a link from its PIRQx_ROUT value (bit 7: routing
// disabled; bits 3:0: the ISA IRQ).
void add_link_helpers(Aml& sb) {
  Aml iqst = method("IQST", 1);
  Aml disabled = if_(and_(integer(0x80), arg(0)));
  disabled.add(return_(integer(0x09)));
  iqst.add(std::move(disabled));
  iqst.add(return_(integer(0x0b)));
  sb.add(std::move(iqst));

  Aml iqcr = method("IQCR", 1, true);
  iqcr.add(name_decl("PRR0", level_shared_interrupt({0})));
  iqcr.add(create_dword_field(name("PRR0"), integer(5), "PRRI"));
  Aml routed = if_(lless(arg(0), integer(0x80)));
  routed.add(store(and_(arg(0), integer(0x0f)), name("PRRI")));
  iqcr.add(std::move(routed));
  iqcr.add(return_(name("PRR0")));
  sb.add(std::move(iqcr));
}

void add_link_devices(Aml& sb) {
  for (int i = 0; i < kPirqCount; ++i) {
    std::string reg = "\\_SB.PCI0.SF8." + indexed_name("PRQ", i);
    Aml l = device(indexed_name("LNK", i));
    l.add(name_decl("_HID", eisa_id("PNP0C0F")));
    l.add(name_decl("_UID", integer(i)));
    l.add(name_decl("_PRS", level_shared_interrupt({5, 10, 11})));
    Aml sta = method("_STA", 0);
    sta.add(return_(call("IQST", {name(reg)})));
    l.add(std::move(sta));
    Aml dis = method("_DIS", 0);
    dis.add(or_(name(reg), integer(0x80), name(reg)));
    l.add(std::move(dis));
    Aml crs = method("_CRS", 0);
    crs.add(return_(call("IQCR", {name(reg)})));
    l.add(std::move(crs));
    Aml srs = method("_SRS", 1);
    srs.add(create_dword_field(arg(0), integer(5), "PRRI"));
    srs.add(store(name("PRRI"), name(reg)));
    l.add(std::move(srs));
    sb.add(std::move(l));
  }
  for (int i = 0; i < kPirqCount; ++i) {
    Aml g = device(indexed_name("GSI", i));
    g.add(name_decl("_HID", eisa_id("PNP0C0F")));
    g.add(name_decl("_UID", integer(kPirqGsiBase + i)));
    g.add(name_decl("_PRS", level_shared_interrupt({uint32_t(kPirqGsiBase + i)})));
    g.add(name_decl("_CRS", level_shared_interrupt({uint32_t(kPirqGsiBase + i)})));
    g.add(method("_SRS", 1));  // fixed routing: nothing to program
    sb.add(std::move(g));
  }
}

void add_cpus(Aml& sb, const PcAcpiConfig& cfg) {
  for (size_t i = 0; i < cfg.apic_ids.size(); ++i) {
    char nm[8];
    std::snprintf(nm, sizeof nm, "C%03X", unsigned(i));
    Aml c = device(nm);
    c.add(name_decl("_HID", string("ACPI0007")));
    c.add(name_decl("_UID", integer(i)));
    sb.add(std::move(c));
  }
}

uint8_t ioapic_id(const PcAcpiConfig& cfg) {
  return cfg.ioapic_id >= 0 ? uint8_t(cfg.ioapic_id) : uint8_t(cfg.apic_ids.size());
}

}  // namespace

AmlBytes build_pc_dsdt(const PcAcpiConfig& cfg) {
  Aml root = scope("\\");
  root.add(name_decl("PICF", zero()));  // Zero: PIC mode, One: APIC mode
  Aml pic = method("_PIC", 1);
  pic.add(store(arg(0), name("PICF")));
  root.add(std::move(pic));
  Aml s5 = package();
  for (int i = 0; i < 4; ++i) s5.add(zero());  // SLP_TYPa, SLP_TYPb, reserved
  root.add(name_decl("_S5", std::move(s5)));

  Aml sb = scope("\\_SB");
  add_cpus(sb, cfg);
  sb.add(pci0_device(cfg));
  add_link_helpers(sb);
  add_link_devices(sb);
  Aml mres = device("MRES");  // motherboard resources: the ECAM window
  mres.add(name_decl("_HID", eisa_id("PNP0C02")));
  mres.add(name_decl("_UID", zero()));
  Aml crs = resource_template();
  crs.add(res_memory32_fixed(true, uint32_t(cfg.ecam_base), uint32_t(cfg.ecam_size)));
  mres.add(name_decl("_CRS", std::move(crs)));
  sb.add(std::move(mres));

  AmlBytes body = root.encode();
  sb.encode_to(body);
  if (cfg.pci_hotplug) pcihp_gpe_scope().encode_to(body);
  return acpi_table("DSDT", 2, body);
}

AmlBytes build_pc_facs() {
  AmlBytes t;
  t.insert(t.end(), {'F', 'A', 'C', 'S'});
  append_le(t, kFacsLength, 4);
  t.resize(32, 0);  // hardware signature, waking vector, global lock, flags, X waking vector
  t.push_back(2);   // version
  t.resize(kFacsLength, 0);
  return t;
}

AmlBytes build_pc_fadt(const PcAcpiConfig& cfg, uint64_t facs_addr, uint64_t dsdt_addr) {
  AmlBytes b(kFadtLength - kAcpiTableHeaderSize, 0);
  auto put = [&](size_t off, uint64_t v, int n) { put_le(b, off - kAcpiTableHeaderSize, v, n); };
  auto gas = [&](size_t off, GasSpace space, uint8_t bits, GasAccess access, uint64_t addr) {
    AmlBytes g;
    append_gas(g, space, bits, 0, access, addr);
    std::copy(g.begin(), g.end(), b.begin() + (off - kAcpiTableHeaderSize));
  };
  uint16_t pm = cfg.pm_base;
  put(fadt::kFirmwareCtrl, facs_addr, 4);
  put(fadt::kDsdt, dsdt_addr, 4);
  put(fadt::kPreferredPmProfile, 0, 1);  // unspecified
  put(fadt::kSciInt, cfg.sci_irq, 2);
  put(fadt::kSmiCmd, cfg.smi_cmd, 4);
  put(fadt::kAcpiEnable, cfg.acpi_enable_cmd, 1);
  put(fadt::kAcpiDisable, cfg.acpi_disable_cmd, 1);
  put(fadt::kPm1aEvtBlk, pm + kPm1EvtOffset, 4);
  put(fadt::kPm1aCntBlk, pm + kPm1CntOffset, 4);
  put(fadt::kPmTmrBlk, pm + kPmTmrOffset, 4);
  put(fadt::kGpe0Blk, pm + kGpe0Offset, 4);
  put(fadt::kPm1EvtLen, kPm1EvtLen, 1);
  put(fadt::kPm1CntLen, kPm1CntLen, 1);
  put(fadt::kPmTmrLen, kPmTmrLen, 1);
  put(fadt::kGpe0BlkLen, kGpe0Len, 1);
  put(fadt::kPLvl2Lat, 0x0fff, 2);  // > 100: C2 not supported
  put(fadt::kPLvl3Lat, 0x0fff, 2);  // > 1000: C3 not supported
  put(fadt::kCentury, 0x32, 1);     // CMOS century byte
  put(fadt::kIapcBootArch, fadt::kBootArchLegacyDevices | (cfg.i8042 ? fadt::kBootArch8042 : 0), 2);
  put(fadt::kFlags,
      fadt::kFlagWbinvd | fadt::kFlagProcC1 | fadt::kFlagSlpButton | fadt::kFlagRtcS4 |
          fadt::kFlagResetRegSup | fadt::kFlagUsePlatformClock,
      4);
  gas(fadt::kResetReg, GasSpace::SystemIO, 8, GasAccess::Byte, cfg.reset_port);
  put(fadt::kResetValue, cfg.reset_value, 1);
  put(fadt::kMinorVersion, 0, 1);
  put(fadt::kXFirmwareCtrl, 0, 8);  // FIRMWARE_CTRL is used (below 4 GiB)
  put(fadt::kXDsdt, dsdt_addr, 8);
  gas(fadt::kXPm1aEvtBlk, GasSpace::SystemIO, kPm1EvtLen * 8, GasAccess::Word, pm + kPm1EvtOffset);
  gas(fadt::kXPm1aCntBlk, GasSpace::SystemIO, kPm1CntLen * 8, GasAccess::Word, pm + kPm1CntOffset);
  gas(fadt::kXPmTmrBlk, GasSpace::SystemIO, kPmTmrLen * 8, GasAccess::DWord, pm + kPmTmrOffset);
  gas(fadt::kXGpe0Blk, GasSpace::SystemIO, kGpe0Len * 8, GasAccess::Byte, pm + kGpe0Offset);
  return acpi_table("FACP", kFadtRevision, b);
}

AmlBytes build_pc_madt(const PcAcpiConfig& cfg) {
  AmlBytes b;
  append_le(b, cfg.lapic_addr, 4);
  append_le(b, madt::kFlagPcatCompat, 4);
  bool any_x2apic = false;
  for (size_t i = 0; i < cfg.apic_ids.size(); ++i) {
    uint32_t id = cfg.apic_ids[i];
    if (id < 255 && i < 255) {
      b.insert(b.end(), {madt::kLocalApic, 8, uint8_t(i), uint8_t(id)});
      append_le(b, 1, 4);  // enabled
    } else {
      any_x2apic = true;
      b.insert(b.end(), {madt::kLocalX2Apic, 16, 0, 0});
      append_le(b, id, 4);
      append_le(b, 1, 4);  // enabled
      append_le(b, i, 4);  // ACPI processor UID
    }
  }
  b.insert(b.end(), {madt::kIoApic, 12, ioapic_id(cfg), 0});
  append_le(b, cfg.ioapic_addr, 4);
  append_le(b, cfg.ioapic_gsi_base, 4);
  // ISA IRQ 0 (the PIT) is on GSI 2; IRQ 9 (the SCI) is level-triggered, active high.
  auto iso = [&](uint8_t irq, uint32_t gsi, uint16_t flags) {
    b.insert(b.end(), {madt::kInterruptOverride, 10, 0, irq});
    append_le(b, gsi, 4);
    append_le(b, flags, 2);
  };
  iso(0, 2, 0);
  iso(uint8_t(cfg.sci_irq), cfg.sci_irq, 0x000d);  // polarity 01 (high), trigger 11 (level)
  // LINT1 of every local APIC is the NMI input.
  b.insert(b.end(), {madt::kLocalApicNmi, 6, 0xff, 0, 0, 1});
  if (any_x2apic) {
    b.insert(b.end(), {madt::kLocalX2ApicNmi, 12, 0, 0});
    append_le(b, 0xffffffff, 4);
    b.insert(b.end(), {1, 0, 0, 0});
  }
  return acpi_table("APIC", 3, b);
}

AmlBytes build_pc_mcfg(const PcAcpiConfig& cfg) {
  AmlBytes b(8, 0);  // reserved
  append_le(b, cfg.ecam_base, 8);
  append_le(b, 0, 2);                               // PCI segment group
  b.push_back(0);                                   // start bus
  b.push_back(uint8_t((cfg.ecam_size >> 20) - 1));  // end bus: 1 MiB of ECAM per bus
  append_le(b, 0, 4);
  return acpi_table("MCFG", 1, b);
}

AmlBytes build_xsdt(const std::vector<uint64_t>& tables) {
  AmlBytes b;
  for (uint64_t a : tables) append_le(b, a, 8);
  return acpi_table("XSDT", 1, b);
}

AmlBytes build_rsdt(const std::vector<uint32_t>& tables) {
  AmlBytes b;
  for (uint32_t a : tables) append_le(b, a, 4);
  return acpi_table("RSDT", 1, b);
}

AmlBytes build_rsdp(uint64_t xsdt_addr, uint32_t rsdt_addr) {
  AmlBytes r;
  r.insert(r.end(), {'R', 'S', 'D', ' ', 'P', 'T', 'R', ' '});
  r.push_back(0);  // checksum of the first 20 bytes
  r.insert(r.end(), kAcpiOemId, kAcpiOemId + 6);
  r.push_back(2);  // revision: ACPI 2.0+
  append_le(r, rsdt_addr, 4);
  append_le(r, kRsdpLength, 4);
  append_le(r, xsdt_addr, 8);
  r.push_back(0);  // extended checksum
  r.insert(r.end(), {0, 0, 0});
  r[8] = acpi_checksum(r.data(), 20);
  r[32] = acpi_checksum(r.data(), kRsdpLength);
  return r;
}

namespace {

// The tables but the RSDP, appended to `blob`, whose first byte is at guest address `base`.
struct TableLayout {
  uint64_t facs, dsdt, facp, apic, mcfg, xsdt, rsdt;
};

TableLayout lay_out_tables(const PcAcpiConfig& cfg, AmlBytes& blob, uint64_t base) {
  auto place = [&](const AmlBytes& t, size_t align) {
    blob.resize((blob.size() + align - 1) / align * align, 0);
    uint64_t addr = base + blob.size();
    blob.insert(blob.end(), t.begin(), t.end());
    return addr;
  };
  TableLayout l;
  l.facs = place(build_pc_facs(), 64);
  l.dsdt = place(build_pc_dsdt(cfg), 8);
  l.facp = place(build_pc_fadt(cfg, l.facs, l.dsdt), 8);
  l.apic = place(build_pc_madt(cfg), 8);
  l.mcfg = place(build_pc_mcfg(cfg), 8);
  l.xsdt = place(build_xsdt({l.facp, l.apic, l.mcfg}), 8);
  l.rsdt = place(build_rsdt({uint32_t(l.facp), uint32_t(l.apic), uint32_t(l.mcfg)}), 8);
  return l;
}

}  // namespace

AcpiTableBlob build_pc_acpi_tables(const PcAcpiConfig& cfg, uint64_t base) {
  if (base % 16 != 0 || cfg.apic_ids.empty()) {
    std::fprintf(stderr, "machina: ACPI tables: bad base or no CPUs\n");
    std::abort();
  }
  AcpiTableBlob out;
  out.base = base;
  // The RSDP goes first; its content is known only at the end.
  out.bytes.resize(kRsdpLength, 0);
  TableLayout l = lay_out_tables(cfg, out.bytes, base);
  AmlBytes rsdp = build_rsdp(l.xsdt, uint32_t(l.rsdt));
  std::copy(rsdp.begin(), rsdp.end(), out.bytes.begin());
  out.rsdp_addr = base;
  out.table_addr = {{"FACS", l.facs}, {"DSDT", l.dsdt}, {"FACP", l.facp}, {"APIC", l.apic},
                    {"MCFG", l.mcfg}, {"XSDT", l.xsdt}, {"RSDT", l.rsdt}};
  return out;
}

namespace {

void loader_name(AmlBytes& e, size_t off, std::string_view file) {
  std::copy(file.begin(), file.end(), e.begin() + off);
}

void loader_allocate(AmlBytes& loader, std::string_view file, uint32_t align, uint8_t zone) {
  AmlBytes e(table_loader::kEntrySize, 0);
  put_le(e, 0, table_loader::kAllocate, 4);
  loader_name(e, 4, file);
  put_le(e, 60, align, 4);
  e[64] = zone;
  loader.insert(loader.end(), e.begin(), e.end());
}

void loader_add_pointer(AmlBytes& loader, std::string_view dest, std::string_view src,
                        uint32_t offset, uint8_t size) {
  AmlBytes e(table_loader::kEntrySize, 0);
  put_le(e, 0, table_loader::kAddPointer, 4);
  loader_name(e, 4, dest);
  loader_name(e, 60, src);
  put_le(e, 116, offset, 4);
  e[120] = size;
  loader.insert(loader.end(), e.begin(), e.end());
}

void loader_add_checksum(AmlBytes& loader, std::string_view file, uint32_t result_offset,
                         uint32_t start, uint32_t length) {
  AmlBytes e(table_loader::kEntrySize, 0);
  put_le(e, 0, table_loader::kAddChecksum, 4);
  loader_name(e, 4, file);
  put_le(e, 60, result_offset, 4);
  put_le(e, 64, start, 4);
  put_le(e, 68, length, 4);
  loader.insert(loader.end(), e.begin(), e.end());
}

}  // namespace

AcpiFwCfgFiles build_pc_acpi_fw_cfg_files(const PcAcpiConfig& cfg) {
  using namespace table_loader;
  AcpiFwCfgFiles f;
  TableLayout l = lay_out_tables(cfg, f.tables, 0);  // addresses are offsets in the file
  f.rsdp = build_rsdp(l.xsdt, uint32_t(l.rsdt));

  loader_allocate(f.loader, kRsdpFile, 16, kZoneFSeg);
  loader_allocate(f.loader, kTablesFile, 64, kZoneHigh);
  loader_add_pointer(f.loader, kTablesFile, kTablesFile, uint32_t(l.facp + fadt::kFirmwareCtrl), 4);
  loader_add_pointer(f.loader, kTablesFile, kTablesFile, uint32_t(l.facp + fadt::kDsdt), 4);
  loader_add_pointer(f.loader, kTablesFile, kTablesFile, uint32_t(l.facp + fadt::kXDsdt), 8);
  for (uint32_t i = 0; i < 3; ++i) {
    loader_add_pointer(f.loader, kTablesFile, kTablesFile,
                       uint32_t(l.xsdt + kAcpiTableHeaderSize + 8 * i), 8);
    loader_add_pointer(f.loader, kTablesFile, kTablesFile,
                       uint32_t(l.rsdt + kAcpiTableHeaderSize + 4 * i), 4);
  }
  loader_add_pointer(f.loader, kRsdpFile, kTablesFile, 16, 4);  // RsdtAddress
  loader_add_pointer(f.loader, kRsdpFile, kTablesFile, 24, 8);  // XsdtAddress

  // Checksums are computed by the firmware after patching, from a zero checksum byte.
  for (uint64_t t : {l.dsdt, l.facp, l.apic, l.mcfg, l.xsdt, l.rsdt}) {
    uint32_t len = uint32_t(get_le(f.tables.data() + t + 4, 4));
    f.tables[t + 9] = 0;
    loader_add_checksum(f.loader, kTablesFile, uint32_t(t + 9), uint32_t(t), len);
  }
  f.rsdp[8] = 0;
  f.rsdp[32] = 0;
  loader_add_checksum(f.loader, kRsdpFile, 8, 0, 20);
  loader_add_checksum(f.loader, kRsdpFile, 32, 0, kRsdpLength);
  return f;
}

}  // namespace machina
