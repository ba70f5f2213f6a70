// The DSDT's part of ACPI PCI hot-plug: see pcihp-aml.h.
#include "hw/acpi/pcihp-aml.h"

#include <cstdio>
#include <string>

#include "hw/acpi/pcihp.h"

namespace machina {

namespace {

using namespace aml;

constexpr uint64_t kNotifyDeviceCheck = 1;
constexpr uint64_t kNotifyEjectRequest = 3;
constexpr uint16_t kWaitForever = 0xffff;

std::string port_name(int devfn) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "S%02X", unsigned(devfn & 0xff));
  return buf;
}

Aml register_fields() {
  Aml f = field("PCST", FieldAccess::DWord, FieldLock::NoLock, FieldUpdate::WriteAsZeros);
  for (const char* n : {"PCIU", "PCID", "B0EJ", "PCRM", "BNUM", "PIDX", "OSLT", "OSTS"}) {
    f.add(named_field(n, 32));
  }
  return f;
}

// PCEJ (bsel, slot): the eject register write of a slot's _EJ0.
Aml eject_method() {
  Aml m = method("PCEJ", 2);
  m.add(acquire(name("BLCK"), kWaitForever));
  m.add(store(arg(0), name("BNUM")));
  m.add(store(shift_left(one(), arg(1)), name("B0EJ")));
  m.add(release(name("BLCK")));
  m.add(return_(zero()));
  return m;
}

// PCOS (bsel, slot, event, status): a slot's _OST report.
Aml ost_method() {
  Aml m = method("PCOS", 4);
  m.add(acquire(name("BLCK"), kWaitForever));
  m.add(store(arg(0), name("BNUM")));
  m.add(store(arg(1), name("OSLT")));
  m.add(or_(arg(2), shift_left(arg(3), integer(16)), name("OSTS")));
  m.add(release(name("BLCK")));
  return m;
}

Aml slot_device() {
  Aml s = device("S00");
  s.add(name_decl("_ADR", zero()));
  s.add(name_decl("_SUN", zero()));
  Aml ej0 = method("_EJ0", 1);
  ej0.add(call("PCEJ", {name("BSEL"), name("_SUN")}));
  s.add(std::move(ej0));
  Aml ost = method("_OST", 3);
  ost.add(call("PCOS", {name("BSEL"), name("_SUN"), arg(0), arg(1)}));
  s.add(std::move(ost));
  return s;
}

Aml port_device(const PcAcpiHotplugPort& p) {
  Aml d = device(port_name(p.devfn));
  uint64_t slot = uint64_t(p.devfn >> 3), fn = uint64_t(p.devfn & 7);
  d.add(name_decl("_ADR", integer(slot << 16 | fn)));
  d.add(name_decl("BSEL", integer(uint64_t(p.bsel))));
  d.add(slot_device());
  Aml dvnt = method("DVNT", 2);
  Aml present = if_(and_(arg(0), one()));
  present.add(notify(name("S00"), arg(1)));
  dvnt.add(std::move(present));
  d.add(std::move(dvnt));
  Aml pcnt = method("PCNT", 0);
  pcnt.add(store(name("BSEL"), name("BNUM")));
  pcnt.add(call("DVNT", {name("PCIU"), integer(kNotifyDeviceCheck)}));
  pcnt.add(call("DVNT", {name("PCID"), integer(kNotifyEjectRequest)}));
  d.add(std::move(pcnt));
  return d;
}

}  // namespace

void add_pcihp_to_pci0(Aml& pci0, uint16_t io_base, const std::vector<PcAcpiHotplugPort>& ports) {
  pci0.add(
      operation_region("PCST", RegionSpace::SystemIO, integer(io_base), integer(kAcpiPciHpIoSize)));
  pci0.add(register_fields());
  pci0.add(mutex("BLCK", 0));
  pci0.add(eject_method());
  pci0.add(ost_method());
  for (const PcAcpiHotplugPort& p : ports) pci0.add(port_device(p));
  Aml pcnt = method("PCNT", 0);
  for (const PcAcpiHotplugPort& p : ports) {
    pcnt.add(call("\\_SB.PCI0." + port_name(p.devfn) + ".PCNT"));
  }
  pci0.add(std::move(pcnt));
}

Aml pcihp_gpe_scope() {
  Aml gpe = scope("\\_GPE");
  Aml e01 = method("_E01", 0);
  e01.add(acquire(name("\\_SB.PCI0.BLCK"), kWaitForever));
  e01.add(call("\\_SB.PCI0.PCNT"));
  e01.add(release(name("\\_SB.PCI0.BLCK")));
  gpe.add(std::move(e01));
  return gpe;
}

}  // namespace machina
