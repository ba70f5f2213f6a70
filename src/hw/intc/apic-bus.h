// The x86 APIC bus: system-wide interrupt message routing between I/O APICs, MSI-capable devices
// and the local APICs (QEMU's apic_deliver_irq / apic_send_msi / ioapic_eoi_broadcast).
//
// - A registry of the realized local APICs, looked up by their current APIC ID.
// - Delivery of an interrupt message to the local APICs its destination selects: physical
//   (8-bit APIC ID, 0xFF = broadcast) or logical (flat or cluster model, per the target's DFR and
//   LDR; 0xFF = broadcast), with the delivery modes fixed, lowest priority (focus processor, then
//   the lowest processor priority; ties go to the first registered), SMI, NMI, INIT, start-up and
//   ExtINT.
// - MSI: the x86 address/data format decoded into such a message.
// - EOI broadcast: a local APIC's EOI of a level-triggered vector is passed to every registered
//   listener (the I/O APICs), which clear their remote IRR.
//
// xAPIC only: 8-bit destinations, no x2APIC, no extended destination ID in MSI addresses.
// Everything here runs with the big lock held (util/bql.h).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "qapi/error.h"

namespace machina {

class Apic;

enum class ApicDeliveryMode : uint8_t {
  Fixed = 0,
  LowestPriority = 1,
  Smi = 2,
  Nmi = 4,
  Init = 5,
  StartUp = 6,
  ExtInt = 7,
};

// ICR destination shorthand (bits 19:18).
enum class ApicShorthand : uint8_t {
  None = 0,
  Self = 1,
  AllIncludingSelf = 2,
  AllExcludingSelf = 3,
};

// An interrupt message on the APIC bus.
struct ApicMessage {
  uint8_t dest = 0;      // APIC ID (physical) or message destination address (logical)
  bool logical = false;  // destination mode
  ApicDeliveryMode mode = ApicDeliveryMode::Fixed;
  uint8_t vector = 0;  // fixed, lowest priority, start-up
  bool level_triggered = false;
  bool assert = true;  // level: false only for the INIT level de-assert IPI
};

inline constexpr uint8_t kApicBroadcast = 0xff;

// --- the registry (called by the local APIC at realize / unrealize).
// Fails if a realized local APIC already has the same APIC ID.
Status apic_bus_register(Apic* apic);
void apic_bus_unregister(Apic* apic);
// The local APIC whose APIC ID register currently reads `apic_id`, or nullptr.
Apic* apic_bus_find(uint8_t apic_id);
// All registered local APICs, in registration order.
const std::vector<Apic*>& apic_bus_apics();

// Delivers `msg` to the local APICs its destination selects.
void apic_bus_deliver(const ApicMessage& msg);
// When the local APICs are not machina's (KVM's in-kernel irqchip), every message delivered
// (apic_bus_deliver, apic_deliver_msi) goes to `fn` instead. nullptr: machina's models again.
void apic_bus_set_delivery_override(std::function<void(const ApicMessage&)> fn);
// An IPI sent by `source` through its ICR: `shorthand` None uses msg's destination.
void apic_bus_send_ipi(Apic& source, ApicShorthand shorthand, const ApicMessage& msg);

// --- MSI (x86 format). Address: 0xFEE in bits 31:20, destination ID 19:12, redirection hint 3
// (ignored, as QEMU), destination mode 2. Data: vector 7:0, delivery mode 10:8 (3 and 6 are
// reserved), level 14, trigger mode 15.
// Decodes into *msg; false (nothing delivered) for an address outside 0xFEExxxxx or a reserved
// delivery mode.
bool apic_msi_decode(uint64_t addr, uint32_t data, ApicMessage* msg);
// Decodes and delivers; a malformed message is logged as a guest error and dropped.
void apic_deliver_msi(uint64_t addr, uint32_t data);

// --- EOI broadcast to the I/O APICs.
class ApicEoiListener {
 public:
  virtual ~ApicEoiListener() = default;
  // A local APIC accepted the EOI of level-triggered `vector`.
  virtual void eoi_broadcast(uint8_t vector) = 0;
};
void apic_bus_add_eoi_listener(ApicEoiListener* listener);
void apic_bus_remove_eoi_listener(ApicEoiListener* listener);
void apic_bus_broadcast_eoi(uint8_t vector);

}  // namespace machina
