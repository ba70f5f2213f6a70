// The I/O APIC: see ioapic.h.
#include "hw/intc/ioapic.h"

#include <cstdio>
#include <string>

#include "qom/property-types.h"
#include "util/log.h"

namespace machina {

namespace {

constexpr int kSuccessiveEoiMax = 10000;
constexpr int64_t kDelayedServiceNs = kNsPerSec / 100;

constexpr uint64_t kEntryReadOnly = kIoapicEntryRemoteIrr | kIoapicEntryDeliveryStatus;

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

IoApic::IoApic() {
  init_gpio_in("", kIoapicPins, [this](int n, int level) { set_pin(n, level); });
  redtbl_.fill(kIoapicEntryMasked);
}

IoApic::~IoApic() {
  if (listening_) apic_bus_remove_eoi_listener(this);
}

Status IoApic::do_realize() {
  if (version != 0x11 && version != 0x20) {
    return generic_error("IOAPIC only supports version 0x11 or 0x20 (default: 0x20).");
  }
  MemoryRegionOps ops;
  ops.read = [this](uint64_t addr, unsigned size) { return mmio_read(addr, size); };
  ops.write = [this](uint64_t addr, uint64_t v, unsigned size) { mmio_write(addr, v, size); };
  ops.valid.min_access_size = 1;
  ops.valid.max_access_size = 4;
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = 4;
  mmio_.init_io(this, "ioapic", std::move(ops), kIoapicMmioSize);
  apic_bus_add_eoi_listener(this);
  listening_ = true;
  do_reset();
  return Status::Ok();
}

void IoApic::do_unrealize() {
  delayed_service_.del();
  if (listening_) apic_bus_remove_eoi_listener(this);
  listening_ = false;
  if (mmio_.container()) (void)mmio_.container()->del_subregion(&mmio_);
}

void IoApic::do_reset() {
  ioregsel_ = 0;
  id_ = 0;
  redtbl_.fill(kIoapicEntryMasked);
  edge_irr_ = 0;
  successive_eoi_.fill(0);
  delayed_service_.del();
}

// --- registers

uint64_t IoApic::mmio_read(uint64_t addr, unsigned size) {
  switch (addr & 0xff) {
    case ioapic_reg::kRegSel:
      return ioregsel_;
    case ioapic_reg::kWindow:
      if (size != 4) {
        log_mask(LOG_GUEST_ERROR, "ioapic: " + std::to_string(size) + "-byte IOWIN read");
        return 0;
      }
      return read_indirect();
    default:
      return 0;
  }
}

void IoApic::mmio_write(uint64_t addr, uint64_t value, unsigned size) {
  switch (addr & 0xff) {
    case ioapic_reg::kRegSel:
      ioregsel_ = uint8_t(value);
      break;
    case ioapic_reg::kWindow:
      if (size != 4) {
        log_mask(LOG_GUEST_ERROR, "ioapic: " + std::to_string(size) + "-byte IOWIN write");
        break;
      }
      write_indirect(uint32_t(value));
      break;
    case ioapic_reg::kEoi:
      if (size == 4 && version == 0x20) eoi_broadcast(uint8_t(value));
      break;
    default:
      break;
  }
}

uint32_t IoApic::read_indirect() {
  switch (ioregsel_) {
    case ioapic_reg::kId:
    case ioapic_reg::kArbitration:
      return uint32_t(id_) << 24;
    case ioapic_reg::kVersion:
      return version | (uint32_t(kIoapicPins - 1) << 16);
    default:
      break;
  }
  int pin = (ioregsel_ - ioapic_reg::kRedirectionTable) >> 1;
  if (ioregsel_ < ioapic_reg::kRedirectionTable || pin >= kIoapicPins) {
    log_mask(LOG_GUEST_ERROR, "ioapic: read of undefined register " + hex(ioregsel_));
    return 0;
  }
  return uint32_t(ioregsel_ & 1 ? redtbl_[pin] >> 32 : redtbl_[pin]);
}

void IoApic::write_indirect(uint32_t value) {
  switch (ioregsel_) {
    case ioapic_reg::kId:
      id_ = (value >> 24) & 0xf;
      return;
    case ioapic_reg::kVersion:
    case ioapic_reg::kArbitration:
      return;  // read-only
    default:
      break;
  }
  int pin = (ioregsel_ - ioapic_reg::kRedirectionTable) >> 1;
  if (ioregsel_ < ioapic_reg::kRedirectionTable || pin >= kIoapicPins) {
    log_mask(LOG_GUEST_ERROR,
             "ioapic: write of " + hex(value) + " to undefined register " + hex(ioregsel_));
    return;
  }
  uint64_t e = redtbl_[pin];
  uint64_t ro = e & kEntryReadOnly;
  if (ioregsel_ & 1) {
    e = (e & 0xffffffffu) | (uint64_t{value} << 32);
  } else {
    e = (e & ~uint64_t{0xffffffffu}) | value;
  }
  e = (e & ~kEntryReadOnly) | ro;
  // An edge-triggered entry has no remote IRR: Linux clears a stuck one by switching the entry
  // to edge and back (__eoi_ioapic_pin on I/O APICs without EOI register).
  if (!(e & kIoapicEntryLevelTriggered)) e &= ~kIoapicEntryRemoteIrr;
  redtbl_[pin] = e;
  successive_eoi_[pin] = 0;
  service();
}

// --- pins and delivery

void IoApic::set_pin(int pin, int level) {
  uint32_t bit = 1u << pin;
  bool was = (pin_level_ & bit) != 0;
  if (level) {
    pin_level_ |= bit;
  } else {
    pin_level_ &= ~bit;
  }
  uint64_t e = redtbl_[pin];
  if (e & kIoapicEntryLevelTriggered) {
    if (level && !(e & kIoapicEntryRemoteIrr)) service();
  } else if (level && !was && !(e & kIoapicEntryMasked)) {
    edge_irr_ |= bit;
    service();
  }
}

void IoApic::service() {
  for (int pin = 0; pin < kIoapicPins; ++pin) {
    uint32_t bit = 1u << pin;
    uint64_t e = redtbl_[pin];
    if (e & kIoapicEntryMasked) continue;
    if (e & kIoapicEntryLevelTriggered) {
      if (!(pin_level_ & bit) || (e & kIoapicEntryRemoteIrr)) continue;
      redtbl_[pin] = e | kIoapicEntryRemoteIrr;
    } else {
      if (!(edge_irr_ & bit)) continue;
      edge_irr_ &= ~bit;
    }
    deliver(pin);
  }
}

void IoApic::deliver(int pin) {
  uint64_t e = redtbl_[pin];
  ApicMessage msg;
  msg.vector = uint8_t(e);
  msg.mode = ApicDeliveryMode((e >> 8) & 7);
  msg.logical = (e >> 11) & 1;
  msg.level_triggered = (e & kIoapicEntryLevelTriggered) != 0;
  msg.dest = uint8_t(e >> 56);
  uint32_t mode = (e >> 8) & 7;
  if (mode == 3 || mode == 6) {
    log_mask(LOG_GUEST_ERROR, "ioapic: pin " + std::to_string(pin) +
                                  " has reserved delivery mode " + std::to_string(mode));
    return;
  }
  apic_bus_deliver(msg);
}

void IoApic::eoi_broadcast(uint8_t vector) {
  bool redeliver = false;
  for (int pin = 0; pin < kIoapicPins; ++pin) {
    uint64_t e = redtbl_[pin];
    if ((e & 0xff) != vector || !(e & kIoapicEntryLevelTriggered)) continue;
    if (!(e & kIoapicEntryRemoteIrr)) continue;
    redtbl_[pin] = e & ~kIoapicEntryRemoteIrr;
    if (!(e & kIoapicEntryMasked) && (pin_level_ & (1u << pin))) {
      if (++successive_eoi_[pin] >= kSuccessiveEoiMax) {
        // An interrupt storm: real hardware does not re-deliver at once either.
        successive_eoi_[pin] = 0;
        delayed_service_.mod_anticipate(clock_get_ns(ClockType::Virtual) + kDelayedServiceNs);
      } else {
        redeliver = true;
      }
    } else {
      successive_eoi_[pin] = 0;
    }
  }
  if (redeliver) service();
}

namespace {

TypeRegistration ioapic_type{TypeInfo{
    .name = kTypeIoapic,
    .parent = kTypeSysBusDevice,
    .instance_new = [] { return new IoApic(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.hotpluggable = false;
          dc.description = "x86 I/O APIC";
          dc.add_property(prop::integer<IoApic, uint8_t>("version", &IoApic::version, 0x20));
        },
}};

}  // namespace

}  // namespace machina
