// The APIC bus: see apic-bus.h.
#include "hw/intc/apic-bus.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "hw/intc/apic.h"
#include "util/log.h"

namespace machina {

namespace {

std::vector<Apic*>& registry() {
  static std::vector<Apic*> apics;
  return apics;
}

std::vector<ApicEoiListener*>& eoi_listeners() {
  static std::vector<ApicEoiListener*> listeners;
  return listeners;
}

bool selected(Apic* a, const ApicMessage& msg, Apic* self, ApicShorthand shorthand) {
  switch (shorthand) {
    case ApicShorthand::None:
      return a->matches_destination(msg.dest, msg.logical);
    case ApicShorthand::Self:
      return a == self;
    case ApicShorthand::AllIncludingSelf:
      return a->hw_enabled();
    case ApicShorthand::AllExcludingSelf:
      return a != self && a->hw_enabled();
  }
  return false;
}

// Lowest-priority arbitration among the selected APICs that accept fixed interrupts: the focus
// processor (the vector already requested or in service there) if focus checking is on, else the
// lowest processor priority, the first registered on a tie.
Apic* lowest_priority_target(const ApicMessage& msg, Apic* self, ApicShorthand shorthand) {
  Apic* best = nullptr;
  Apic* first = nullptr;
  for (Apic* a : registry()) {
    if (!selected(a, msg, self, shorthand)) continue;
    if (!first) first = a;
    if (!a->sw_enabled()) continue;
    if (a->focus_checking() && a->is_focus_for(msg.vector)) return a;
    if (!best || a->processor_priority() < best->processor_priority()) best = a;
  }
  return best ? best : first;
}

void deliver(const ApicMessage& msg, Apic* self, ApicShorthand shorthand) {
  if (msg.mode == ApicDeliveryMode::LowestPriority) {
    if (Apic* a = lowest_priority_target(msg, self, shorthand)) a->accept_message(msg);
    return;
  }
  // By index: accepting only signals CPUs, but stay safe if the registry grows meanwhile.
  auto& r = registry();
  for (size_t i = 0; i < r.size(); ++i) {
    if (selected(r[i], msg, self, shorthand)) r[i]->accept_message(msg);
  }
}

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

Status apic_bus_register(Apic* apic) {
  for (Apic* a : registry()) {
    if (a->apic_id() == apic->apic_id()) {
      return generic_error("APIC ID " + std::to_string(apic->apic_id()) + " is already in use");
    }
  }
  registry().push_back(apic);
  return Status::Ok();
}

void apic_bus_unregister(Apic* apic) {
  auto& r = registry();
  r.erase(std::remove(r.begin(), r.end(), apic), r.end());
}

Apic* apic_bus_find(uint8_t apic_id) {
  for (Apic* a : registry()) {
    if (a->apic_id() == apic_id) return a;
  }
  return nullptr;
}

const std::vector<Apic*>& apic_bus_apics() {
  return registry();
}

namespace {

std::function<void(const ApicMessage&)>& delivery_override() {
  static auto* fn = new std::function<void(const ApicMessage&)>;
  return *fn;
}

}  // namespace

void apic_bus_set_delivery_override(std::function<void(const ApicMessage&)> fn) {
  delivery_override() = std::move(fn);
}

void apic_bus_deliver(const ApicMessage& msg) {
  if (auto& fn = delivery_override()) {
    fn(msg);
    return;
  }
  deliver(msg, nullptr, ApicShorthand::None);
}

void apic_bus_send_ipi(Apic& source, ApicShorthand shorthand, const ApicMessage& msg) {
  deliver(msg, &source, shorthand);
}

bool apic_msi_decode(uint64_t addr, uint32_t data, ApicMessage* msg) {
  if ((addr & ~uint64_t{0xfffff}) != 0xfee00000u) return false;
  uint32_t mode = (data >> 8) & 7;
  if (mode == 3 || mode == 6) return false;
  msg->dest = uint8_t(addr >> 12);
  msg->logical = (addr >> 2) & 1;
  msg->mode = ApicDeliveryMode(mode);
  msg->vector = uint8_t(data);
  msg->assert = (data >> 14) & 1;
  msg->level_triggered = (data >> 15) & 1;
  return true;
}

void apic_deliver_msi(uint64_t addr, uint32_t data) {
  ApicMessage msg;
  if (!apic_msi_decode(addr, data, &msg)) {
    log_mask(LOG_GUEST_ERROR,
             "apic: malformed MSI (address " + hex(addr) + ", data " + hex(data) + ") dropped");
    return;
  }
  apic_bus_deliver(msg);
}

void apic_bus_add_eoi_listener(ApicEoiListener* listener) {
  eoi_listeners().push_back(listener);
}

void apic_bus_remove_eoi_listener(ApicEoiListener* listener) {
  auto& l = eoi_listeners();
  l.erase(std::remove(l.begin(), l.end(), listener), l.end());
}

void apic_bus_broadcast_eoi(uint8_t vector) {
  auto& l = eoi_listeners();
  for (size_t i = 0; i < l.size(); ++i) l[i]->eoi_broadcast(vector);
}

}  // namespace machina
