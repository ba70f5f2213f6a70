// ACPI PCI hot-plug: see pcihp.h.
#include "hw/acpi/pcihp.h"

#include <bit>
#include <cstdio>
#include <string>

#include "hw/core/qdev-events.h"
#include "hw/core/qdev.h"
#include "hw/pci-bridge/pcie-root-port.h"
#include "hw/pci/pci-bus.h"
#include "util/log.h"
#include "util/main-loop.h"

namespace machina {

using namespace acpi_pcihp;

namespace {

void guest_error(const std::string& what) {
  log_mask(LOG_GUEST_ERROR, "acpi-pcihp: " + what);
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

// A device the guest may not eject: a bridge it was told about at boot, or a device that is not
// hot-pluggable at all (QEMU's acpi_pcihp_pc_no_hotplug).
bool ejectable(const PciDevice& d) {
  if (!d.device_class().hotpluggable) return false;
  return !(d.pci_class().is_bridge && !d.hotplugged());
}

}  // namespace

AcpiPciHp::AcpiPciHp(Object* owner, std::function<void()> raise_gpe)
    : raise_gpe_(std::move(raise_gpe)) {
  MemoryRegionOps ops;
  ops.read = [this](uint64_t addr, unsigned) { return read(addr); };
  ops.write = [this](uint64_t addr, uint64_t v, unsigned) { write(addr, uint32_t(v)); };
  ops.valid.min_access_size = 4;
  ops.valid.max_access_size = 4;
  ops.impl.min_access_size = 4;
  ops.impl.max_access_size = 4;
  io_.init_io(owner, "acpi-pci-hotplug", std::move(ops), kAcpiPciHpIoSize);
}

AcpiPciHp::~AcpiPciHp() = default;

bool AcpiPciHp::serves(const Bus& bus) {
  auto* port = dynamic_cast<PcieRootPort*>(bus.parent_device());
  if (!port || !port->hotplug) return false;
  PciBus* above = port->pci_bus();
  return above && above->is_root();
}

HotplugHandler* AcpiPciHp::handler_for(Device& dev) {
  Bus* bus = dev.parent_bus();
  return bus && serves(*bus) ? this : nullptr;
}

void AcpiPciHp::assign_bus_selectors(PciBus& root) {
  if (assigned_) return;
  assigned_ = true;
  for (int devfn = 0; devfn < pci::kDevfnMax && int(buses_.size()) < kMaxBuses; ++devfn) {
    auto* port = dynamic_cast<PcieRootPort*>(root.device(devfn));
    PciBus* sec = port ? port->sec_bus() : nullptr;
    if (!sec || !serves(*sec)) continue;
    ports_.push_back({int(buses_.size()), devfn});
    buses_.push_back({.bus = sec, .port = port});
  }
}

int AcpiPciHp::bsel_of(const Bus& bus) const {
  for (size_t i = 0; i < buses_.size(); ++i) {
    if (buses_[i].bus == &bus) return int(i);
  }
  return -1;
}

AcpiPciHp::BusState* AcpiPciHp::state_of(const Bus& bus) {
  int bsel = bsel_of(bus);
  return bsel < 0 ? nullptr : &buses_[size_t(bsel)];
}

AcpiPciHp::BusState* AcpiPciHp::selected() {
  return bnum_ < buses_.size() ? &buses_[bnum_] : nullptr;
}

std::vector<PciDevice*> AcpiPciHp::slot_functions(const BusState& b, int slot) {
  std::vector<PciDevice*> out;
  for (int fn = 0; fn < 8; ++fn) {
    if (PciDevice* d = b.bus->device(pci_devfn(slot, fn))) out.push_back(d);
  }
  return out;
}

void AcpiPciHp::event(BusState& b) {
  b.announced = false;
  raise_gpe_();
}

void AcpiPciHp::gpe_enabled() {
  announce_again();
}

void AcpiPciHp::announce_again() {
  for (const BusState& b : buses_) {
    if (!b.announced && (b.up || b.down)) {
      raise_gpe_();
      return;
    }
  }
}

void AcpiPciHp::retry_unrouted() {
  for (BusState& b : buses_) {
    for (int slot = 0; slot < kSlotsPerBus; ++slot) {
      if ((b.down & (1u << slot)) && b.retries[slot]) b.announced = false;
    }
  }
  announce_again();
}

void AcpiPciHp::reset() {
  for (BusState& b : buses_) {
    // As QEMU: a removal the guest was asked for completes with the reset.
    while (b.down) eject(b, b.down, true);
    b.up = 0;
    b.announced = true;
  }
  retry_timer_.del();
  bnum_ = 0;
  ost_slot_ = 0;
  index_ = 0;
}

// --- HotplugHandler

Status AcpiPciHp::pre_plug(Device& dev) {
  if (dev.hotplugged() && (!dev.parent_bus() || bsel_of(*dev.parent_bus()) < 0)) {
    return generic_error("Unsupported bus. Bus doesn't have property 'acpi-pcihp-bsel' set");
  }
  return Status::Ok();
}

Status AcpiPciHp::plug(Device& dev) {
  auto* pdev = dynamic_cast<PciDevice*>(&dev);
  Bus* bus = dev.parent_bus();
  if (!pdev || !bus) return Status::Ok();
  auto* port = dynamic_cast<PcieSlot*>(bus->parent_device());
  if (port) port->acpi_slot_populated(true);
  if (!dev.hotplugged()) return Status::Ok();  // present at boot: no event
  BusState* b = state_of(*bus);
  if (!b) return generic_error("Unsupported bus. Bus doesn't have property 'acpi-pcihp-bsel' set");
  b->up |= 1u << pdev->slot();
  event(*b);
  return Status::Ok();
}

Status AcpiPciHp::unplug_request(Device& dev, bool* asynchronous) {
  *asynchronous = true;
  auto* pdev = dynamic_cast<PciDevice*>(&dev);
  BusState* b = dev.parent_bus() ? state_of(*dev.parent_bus()) : nullptr;
  if (!pdev || !b) {
    return generic_error("Unsupported bus. Bus doesn't have property 'acpi-pcihp-bsel' set");
  }
  // As for native hot-plug: a request the guest ignored may be repeated after 5 s (QEMU 7.2.0 has
  // no expiry here; later QEMU lets a retry through at once).
  dev.set_unplug_pending(clock_get_ns(ClockType::Virtual) / 1000000 + kPcieUnplugExpiryMs);
  b->down |= 1u << pdev->slot();
  b->retries[pdev->slot()] = 0;
  event(*b);
  return Status::Ok();
}

bool AcpiPciHp::hotpluggable_bus(const Bus& bus) const {
  return serves(bus);
}

// --- the guest's side

void AcpiPciHp::eject(BusState& b, uint32_t slots, bool now) {
  int slot = std::countr_zero(slots);
  if (slot >= kSlotsPerBus) return;
  b.down &= ~(1u << slot);
  b.up &= ~(1u << slot);
  b.retries[slot] = 0;
  std::vector<PciDevice*> funcs = slot_functions(b, slot);
  if (funcs.empty()) {
    guest_error("eject of empty slot " + std::to_string(slot) + " on bus selector " +
                std::to_string(&b - buses_.data()));
    return;
  }
  std::vector<Ref<Device>> gone;
  for (PciDevice* d : funcs) {
    if (ejectable(*d)) gone.emplace_back(d);
  }
  auto remove = [gone = std::move(gone), bus = Ref<PciBus>(b.bus), port = Ref<PcieSlot>(b.port),
                 slot] {
    // Functions > 0 first, as they were announced before function 0.
    for (auto it = gone.rbegin(); it != gone.rend(); ++it) {
      Device& d = **it;
      if (d.parent_bus() != bus.get()) continue;  // removed meanwhile
      if (HotplugHandler* h = qdev_get_hotplug_handler(d)) {
        (void)h->unplug(d);
      } else {
        d.unparent();
      }
    }
    bool empty = true;
    for (int fn = 0; fn < 8; ++fn) empty = empty && !bus->device(pci_devfn(slot, fn));
    if (empty && port) port->acpi_slot_populated(false);
  };
  if (now) {
    remove();
  } else {
    // The guest's register write is an access in flight: the device's regions may not go away
    // under it. The removal follows on the main loop.
    run_on_main_loop(std::move(remove));
  }
}

void AcpiPciHp::ost_report(uint32_t value) {
  uint32_t source = value & 0xffff;
  uint32_t status = value >> 16;
  BusState* b = selected();
  if (!b || ost_slot_ >= uint32_t(kSlotsPerBus)) {
    guest_error("_OST for bus selector " + std::to_string(bnum_) + " slot " +
                std::to_string(ost_slot_));
    return;
  }
  if (source != kOstEventEjectRequest || status == kOstStatusSuccess ||
      status == kOstStatusEjectInProgress || !(b->down & (1u << ost_slot_))) {
    return;
  }
  uint8_t& retries = b->retries[ost_slot_];
  if (status == kOstStatusNonSpecificFailure && retries < kOstRetries) {
    // Not routed yet (see pcihp.h): ask again a little later.
    ++retries;
    retry_timer_.mod(clock_get_ns(ClockType::Virtual) + kOstRetryDelayNs);
    return;
  }
  eject_refused(*b, ost_slot_);
}

void AcpiPciHp::eject_refused(BusState& b, uint32_t slot) {
  // The request is over; the user may repeat it.
  b.down &= ~(1u << slot);
  b.retries[slot] = 0;
  for (PciDevice* d : slot_functions(b, int(slot))) {
    if (!d->unplug_pending()) continue;
    d->clear_unplug_pending();
    if (DeviceEventSink* sink = qdev_event_sink()) {
      sink->device_unplug_guest_error(d->id(), d->canonical_path());
    }
  }
}

uint32_t AcpiPciHp::removable(const BusState& b) const {
  uint32_t mask = ~0u;
  for (int slot = 0; slot < kSlotsPerBus; ++slot) {
    for (PciDevice* d : slot_functions(b, slot)) {
      if (!ejectable(*d)) mask &= ~(1u << slot);
    }
  }
  return mask;
}

uint32_t AcpiPciHp::acpi_index(const BusState& b, uint32_t slots) const {
  int slot = std::countr_zero(slots);
  if (slot >= kSlotsPerBus) return 0;
  PciDevice* d = b.bus->device(pci_devfn(slot, 0));
  if (!d) return 0;
  auto v = d->property_get("acpi-index");
  return v.ok() && v.value().is_number_unsigned() ? v.value().get<uint32_t>() : 0;
}

uint64_t AcpiPciHp::read(uint64_t addr) {
  if (addr == kBnum) return bnum_;
  if (addr == kB0ej || addr == kOslt || addr == kOsts) return 0;
  BusState* b = selected();
  if (!b) return 0;
  switch (addr) {
    case kPciu: {
      uint32_t v = b->up;
      b->up = 0;  // as QEMU's q35: announced once
      b->announced = true;
      return v;
    }
    case kPcid:
      b->announced = true;
      return b->down;
    case kPcrm:
      return removable(*b);
    case kPidx: {
      uint32_t v = index_;
      index_ = 0;
      return v;
    }
    default:
      return 0;
  }
}

void AcpiPciHp::write(uint64_t addr, uint32_t value) {
  index_ = 0;
  switch (addr) {
    case kBnum:
      bnum_ = value;
      if (!selected()) guest_error("bus selector " + std::to_string(value) + " is not a bus");
      return;
    case kB0ej:
      if (BusState* b = selected()) {
        eject(*b, value, false);
      } else {
        guest_error("eject " + hex(value) + " on unknown bus selector " + std::to_string(bnum_));
      }
      return;
    case kPidx:
      if (BusState* b = selected()) index_ = acpi_index(*b, value);
      return;
    case kOslt:
      ost_slot_ = value;
      return;
    case kOsts:
      ost_report(value);
      return;
    default:
      guest_error("write " + hex(value) + " to read-only register " + hex(uint32_t(addr)));
      return;
  }
}

}  // namespace machina
