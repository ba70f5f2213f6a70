// PCI Express ports with a hot-plug slot: see pcie-slot.h.
#include "hw/pci/pcie-slot.h"

#include <mutex>
#include <set>
#include <utility>

#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/pci/pcie.h"
#include "qom/property-types.h"
#include "util/qemu-timer.h"

namespace machina {

namespace {

// Slot status bits the guest clears by writing 1, and the ones that count as events.
constexpr uint16_t kSlotEvents = pci::kExpSltStaAbp | pci::kExpSltStaPfd | pci::kExpSltStaMrlsc |
                                 pci::kExpSltStaPdc | pci::kExpSltStaCc;
// Events whose enable bit in SLOT CONTROL has the same position as the status bit.
constexpr uint16_t kSameBitEvents =
    pci::kExpSltStaAbp | pci::kExpSltStaPdc | pci::kExpSltStaCc | pci::kExpSltStaPfd;

// chassis << 16 | slot numbers in use (QEMU's chassis list).
std::set<uint32_t>& chassis_slots() {
  static auto* s = new std::set<uint32_t>();
  return *s;
}
std::mutex chassis_mu;

uint32_t chassis_key(uint8_t chassis, uint16_t slot) {
  return uint32_t(chassis) << 16 | slot;
}

bool powered_off(uint16_t ctl) {
  return (ctl & pci::kExpSltCtlPcc) && (ctl & pci::kExpSltCtlPic) == pci::kExpSltCtlPwrIndOff;
}

bool overlaps(uint32_t addr, unsigned len, uint32_t reg, unsigned reg_len) {
  return addr < reg + reg_len && reg < addr + len;
}

int64_t virtual_ms() {
  return clock_get_ns(ClockType::Virtual) / 1000000;
}

std::string port_name(const PciDevice& d) {
  return d.id() ? *d.id() : std::string("(null)");
}

TypeRegistration pcie_port_type{TypeInfo{
    .name = kTypePciePort,
    .parent = kTypePciDevice,
    .abstract = true,
    .interfaces = {kInterfacePcieDevice},
    .class_new = class_from_parent<PciDeviceClass, PciDeviceClass>(),
    .class_init = PcieSlot::port_class_init,
}};

TypeRegistration pcie_slot_type{TypeInfo{
    .name = kTypePcieSlot,
    .parent = kTypePciePort,
    .abstract = true,
    .interfaces = {kTypeHotplugHandler},
    .class_new = class_from_parent<PciDeviceClass, PciDeviceClass>(),
    .class_init = PcieSlot::slot_class_init,
}};

}  // namespace

void PcieSlot::port_class_init(ObjectClass& oc) {
  auto& dc = static_cast<DeviceClass&>(oc);
  dc.add_property(prop::integer<PcieSlot, uint8_t>("port", &PcieSlot::port, 0));
}

void PcieSlot::slot_class_init(ObjectClass& oc) {
  auto& dc = static_cast<DeviceClass&>(oc);
  dc.add_property(prop::integer<PcieSlot, uint8_t>("chassis", &PcieSlot::chassis, 0));
  dc.add_property(prop::integer<PcieSlot, uint16_t>("slot", &PcieSlot::slot_number, 0));
  dc.add_property(prop::boolean<PcieSlot>("hotplug", &PcieSlot::hotplug, true));
}

PcieSlot::~PcieSlot() {
  slot_uninit();
}

PciBus* PcieSlot::sec_bus() const {
  for (Bus* b : child_buses()) {
    if (auto* pb = dynamic_cast<PciBus*>(b)) return pb;
  }
  return nullptr;
}

uint16_t PcieSlot::sltctl() const {
  return get_word(exp_cap() + pci::kExpSltCtl);
}
uint16_t PcieSlot::sltsta() const {
  return get_word(exp_cap() + pci::kExpSltSta);
}
void PcieSlot::set_sltsta(uint16_t v) {
  set_word(exp_cap() + pci::kExpSltSta, v);
}

bool PcieSlot::slot_powered_off() const {
  return exp_cap() && (sltctl() & pci::kExpSltCtlPcc);
}

Status PcieSlot::slot_init(PciBus& secondary) {
  uint8_t pos = exp_cap();
  if (!pos) return generic_error("pcie-slot: no PCI Express capability");
  {
    std::lock_guard<std::mutex> lock(chassis_mu);
    if (!chassis_slots().insert(chassis_key(chassis, slot_number)).second) {
      return generic_error("Can't add chassis slot, error -16");
    }
    chassis_claimed_ = true;
  }
  set_word(pos + pci::kExpFlags, uint16_t(get_word(pos + pci::kExpFlags) | pci::kExpFlagsSlot));
  uint32_t cap = uint32_t(slot_number) << pci::kExpSltCapPsnShift | pci::kExpSltCapEip |
                 pci::kExpSltCapPip | pci::kExpSltCapAip | pci::kExpSltCapAbp | pci::kExpSltCapPcp;
  if (hotplug) cap |= pci::kExpSltCapHps | pci::kExpSltCapHpc;
  set_long(pos + pci::kExpSltCap, cap);
  set_long(pos + pci::kExpLnkCap, get_long(pos + pci::kExpLnkCap) | pci::kExpLnkCapDllLarc);
  // An empty slot, as a reset leaves it: powered off, indicators off.
  set_word(pos + pci::kExpSltCtl,
           pci::kExpSltCtlPwrIndOff | pci::kExpSltCtlAttnIndOff | pci::kExpSltCtlPcc);
  set_wmask(pos + pci::kExpSltCtl,
            pci::kExpSltCtlPic | pci::kExpSltCtlAic | pci::kExpSltCtlHpie | pci::kExpSltCtlCcie |
                pci::kExpSltCtlPdce | pci::kExpSltCtlAbpe | pci::kExpSltCtlPcc |
                pci::kExpSltCtlEic | pci::kExpSltCtlDllsce,
            2);
  set_w1cmask(pos + pci::kExpSltSta, kSlotEvents | pci::kExpSltStaDllsc, 2);
  // Root-port error and PME enables (no error or PME source behind them yet).
  set_wmask(pos + pci::kExpRtCtl,
            pci::kExpRtCtlSecee | pci::kExpRtCtlSenfee | pci::kExpRtCtlSefee | pci::kExpRtCtlPmeie,
            2);
  set_w1cmask(pos + pci::kExpRtSta, pci::kExpRtStaPme, 4);
  secondary.set_hotplug_handler(this);
  return Status::Ok();
}

void PcieSlot::slot_uninit() {
  if (!chassis_claimed_) return;
  std::lock_guard<std::mutex> lock(chassis_mu);
  chassis_slots().erase(chassis_key(chassis, slot_number));
  chassis_claimed_ = false;
}

void PcieSlot::slot_reset() {
  uint8_t pos = exp_cap();
  if (!pos) return;
  PciBus* bus = sec_bus();
  bool populated = false;
  if (bus) {
    for (int devfn = 0; devfn < pci::kDevfnMax && !populated; ++devfn) {
      populated = bus->device(devfn) != nullptr;
    }
  }
  uint16_t ctl =
      sltctl() & uint16_t(~(pci::kExpSltCtlEic | pci::kExpSltCtlPic | pci::kExpSltCtlAic |
                            pci::kExpSltCtlHpie | pci::kExpSltCtlCcie | pci::kExpSltCtlPdce |
                            pci::kExpSltCtlAbpe | pci::kExpSltCtlDllsce | pci::kExpSltCtlPcc));
  ctl |=
      populated ? pci::kExpSltCtlPwrIndOn : uint16_t(pci::kExpSltCtlPwrIndOff | pci::kExpSltCtlPcc);
  ctl |= pci::kExpSltCtlAttnIndOff;
  set_word(pos + pci::kExpSltCtl, ctl);
  set_sltsta(sltsta() & uint16_t(~(pci::kExpSltStaEis | pci::kExpSltStaCc | pci::kExpSltStaPdc |
                                   pci::kExpSltStaAbp | pci::kExpSltStaDllsc)));
  update_power();
  update_event_status();
}

void PcieSlot::update_event_status() {
  uint16_t ctl = sltctl();
  uint16_t sta = sltsta();
  uint16_t enabled = sta & ctl & kSameBitEvents;
  if ((sta & pci::kExpSltStaDllsc) && (ctl & pci::kExpSltCtlDllsce)) enabled |= 1;
  hpev_notified_ = (ctl & pci::kExpSltCtlHpie) && enabled;
}

void PcieSlot::notify() {
  bool prev = hpev_notified_;
  update_event_status();
  if (prev == hpev_notified_) return;
  // The interrupt message number of the capability (bits 13:9 of its flags).
  unsigned vector = (get_word(exp_cap() + pci::kExpFlags) >> 9) & 0x1f;
  if (msix_enabled(*this)) {
    if (hpev_notified_) msix_notify(*this, vector);
  } else if (msi_enabled(*this)) {
    if (hpev_notified_) msi_notify(*this, vector);
  } else {
    set_irq(hpev_notified_);
  }
}

void PcieSlot::slot_event(uint16_t bits) {
  // A status bit already set is not a new event (no second edge).
  if ((sltsta() & bits) == bits) return;
  set_sltsta(sltsta() | bits);
  notify();
}

void PcieSlot::update_power() {
  PciBus* bus = sec_bus();
  if (!bus) return;
  bool power = !(sltctl() & pci::kExpSltCtlPcc);
  for (int devfn = 0; devfn < pci::kDevfnMax; ++devfn) {
    if (PciDevice* d = bus->device(devfn)) d->set_power(power);
  }
}

void PcieSlot::set_link(bool present) {
  uint16_t sta = sltsta();
  sta = present ? uint16_t(sta | pci::kExpSltStaPds) : uint16_t(sta & ~pci::kExpSltStaPds);
  set_sltsta(sta);
  pcie_cap_set_link_active(*this, present);
}

void PcieSlot::do_unplug() {
  PciBus* bus = sec_bus();
  if (bus) {
    std::vector<Ref<Device>> devs;
    for (Device* d : bus->devices()) devs.emplace_back(d);
    for (auto it = devs.rbegin(); it != devs.rend(); ++it) {
      Device& d = **it;
      if (HotplugHandler* h = qdev_get_hotplug_handler(d)) {
        (void)h->unplug(d);
      } else {
        d.unparent();
      }
    }
  }
  set_link(false);
  set_sltsta(sltsta() | pci::kExpSltStaPdc);
}

void PcieSlot::acpi_slot_populated(bool present) {
  if (!exp_cap()) return;
  if (present) {
    uint16_t ctl = sltctl() & uint16_t(~(pci::kExpSltCtlPcc | pci::kExpSltCtlPic));
    set_word(exp_cap() + pci::kExpSltCtl, uint16_t(ctl | pci::kExpSltCtlPwrIndOn));
    update_power();
  }
  set_link(present);
}

Status PcieSlot::pre_plug(Device& dev) {
  if (dev.hotplugged() && !(get_long(exp_cap() + pci::kExpSltCap) & pci::kExpSltCapHpc)) {
    return generic_error("Hot-plug failed: unsupported by the port device '" + port_name(*this) +
                         "'");
  }
  if (sltsta() & pci::kExpSltStaEis) return generic_error("slot is electromechanically locked");
  return Status::Ok();
}

Status PcieSlot::plug(Device& dev) {
  auto* pdev = dynamic_cast<PciDevice*>(&dev);
  if (!pdev) return Status::Ok();
  if (!dev.hotplugged()) {
    // Present at start-up: powered, no event (what a reset of a populated slot gives).
    uint16_t ctl = sltctl() & uint16_t(~(pci::kExpSltCtlPcc | pci::kExpSltCtlPic));
    set_word(exp_cap() + pci::kExpSltCtl, uint16_t(ctl | pci::kExpSltCtlPwrIndOn));
    set_link(true);
    update_power();
    return Status::Ok();
  }
  // Functions > 0 first, function 0 last: the guest hears of the slot when function 0 arrives.
  if (pdev->function0()) {
    set_link(true);
    update_power();
    slot_event(pci::kExpSltStaPdc | pci::kExpSltStaDllsc);
  } else {
    update_power();
  }
  return Status::Ok();
}

Status PcieSlot::unplug_request(Device& dev, bool* asynchronous) {
  *asynchronous = true;
  if (!(get_long(exp_cap() + pci::kExpSltCap) & pci::kExpSltCapHpc)) {
    return generic_error("Hot-unplug failed: unsupported by the port device '" + port_name(*this) +
                         "'");
  }
  if (sltsta() & pci::kExpSltStaEis) return generic_error("slot is electromechanically locked");
  uint16_t ctl = sltctl();
  if ((ctl & pci::kExpSltCtlPic) == pci::kExpSltCtlPwrIndBlink) {
    return generic_error("Hot-unplug failed: guest is busy (power indicator blinking)");
  }
  dev.set_unplug_pending(virtual_ms() + kPcieUnplugExpiryMs);
  auto* pdev = dynamic_cast<PciDevice*>(&dev);
  PciBus* bus = sec_bus();
  if (pdev && pdev->devfn() != 0 && bus && !bus->device(0)) {
    // A function the guest never saw (its function 0 is missing): no handshake.
    *asynchronous = false;
    return Status::Ok();
  }
  if (powered_off(ctl)) {
    // The guest already turned the slot off: remove without asking.
    Ref<PcieSlot> keep(this);
    do_unplug();
    notify();
    set_sltsta(sltsta() & uint16_t(~pci::kExpSltStaAbp));
    return Status::Ok();
  }
  slot_event(pci::kExpSltStaAbp);
  return Status::Ok();
}

void PcieSlot::config_write(uint32_t addr, uint32_t val, unsigned len) {
  uint8_t pos = exp_cap();
  if (!pos) return PciDevice::config_write(addr, val, len);
  uint16_t old_ctl = sltctl();
  uint16_t old_sta = sltsta();
  PciDevice::config_write(addr, val, len);
  slot_write(old_ctl, old_sta, addr, val, len);
}

void PcieSlot::slot_write(uint16_t old_ctl, uint16_t old_sta, uint32_t addr, uint32_t val,
                          unsigned len) {
  uint8_t pos = exp_cap();
  uint32_t sta_reg = pos + pci::kExpSltSta;
  uint32_t ctl_reg = pos + pci::kExpSltCtl;
  if (overlaps(addr, len, sta_reg, 2)) {
    // The bits written to the status register.
    uint16_t written = 0;
    for (unsigned i = 0; i < 2; ++i) {
      uint32_t byte = sta_reg + i;
      if (byte >= addr && byte < addr + len)
        written |= uint16_t(((val >> (8 * (byte - addr))) & 0xff) << (8 * i));
    }
    if (written & ~old_sta & kSlotEvents) {
      // Clearing events that did not happen: the guest's "clear everything" at start-up. Keep
      // the ones that did, so they are not lost.
      set_sltsta(uint16_t((sltsta() & ~kSlotEvents) | (old_sta & kSlotEvents)));
    }
    update_event_status();
    if (!msix_enabled(*this) && !msi_enabled(*this)) set_irq(hpev_notified_);
  }
  if (!overlaps(addr, len, ctl_reg, 2)) return;
  Ref<PcieSlot> keep(this);
  uint16_t ctl = sltctl();
  if (ctl & pci::kExpSltCtlEic) {
    set_word(ctl_reg, uint16_t(ctl & ~pci::kExpSltCtlEic));
    set_sltsta(uint16_t(sltsta() ^ pci::kExpSltStaEis));
    ctl = sltctl();
  }
  // Populated, power controller and power indicator turned off: the guest let the device go.
  // (Not earlier: Linux's pciehp turns the indicator off a second after the power, and ignores
  // presence changes until then — a device added in that window would go unseen.)
  if ((sltsta() & pci::kExpSltStaPds) && powered_off(ctl) && !powered_off(old_ctl)) {
    do_unplug();
  }
  update_power();
  notify();
  // Each write is a command, completed at once.
  slot_event(pci::kExpSltStaCc);
}

}  // namespace machina
