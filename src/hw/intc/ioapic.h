// The I/O APIC (QEMU's "ioapic" sysbus device, an 82093AA-style I/O APIC with the version 0x20
// EOI register): 24 interrupt input pins routed to the local APICs through the APIC bus.
//
// Registers (MMIO, 4 KiB region the machine maps at kIoapicDefaultBase; offsets repeat every
// 256 bytes): IOREGSEL at 0x00, IOWIN at 0x10 (32-bit accesses only), EOI at 0x40 (version 0x20
// only). Indirect registers: 0x00 ID (bits 27:24), 0x01 version (0x170020: 24 entries, version
// 0x20), 0x02 arbitration (reads the ID), 0x10 + 2n / 0x11 + 2n redirection entry n, low / high
// half (vector, delivery mode, destination mode, delivery status (always 0), polarity, remote IRR
// (read-only), trigger mode, mask, destination in bits 63:56).
//
// Pins are the 24 unnamed GPIO inputs, GSI n on pin n (the machine wires ISA IRQ 0 to GSI 2).
// A GPIO level is "asserted": the polarity bit is stored but not applied, as in QEMU. Edge pins
// deliver on a rising edge while unmasked (edges on a masked pin are lost, 82093AA); level pins
// deliver while asserted and unmasked with remote IRR clear, and set remote IRR; an EOI for the
// entry's vector (from a local APIC's EOI broadcast or the EOI register) clears remote IRR and
// delivers again if the pin is still asserted. As QEMU, after 10000 such immediate re-deliveries
// in a row the next is delayed by 10 ms of virtual time, so that a guest that does not handle a
// level interrupt still makes progress. Switching an entry to edge clears its remote IRR (Linux
// relies on it). An ExtINT entry sends an ExtINT message: the local APIC takes the vector from
// the 8259.
#pragma once

#include <array>
#include <cstdint>

#include "hw/core/sysbus.h"
#include "hw/intc/apic-bus.h"
#include "system/memory.h"
#include "util/qemu-timer.h"

namespace machina {

inline constexpr const char* kTypeIoapic = "ioapic";
inline constexpr uint64_t kIoapicDefaultBase = 0xfec00000;
inline constexpr uint64_t kIoapicMmioSize = 0x1000;
inline constexpr int kIoapicPins = 24;

namespace ioapic_reg {
inline constexpr uint64_t kRegSel = 0x00;
inline constexpr uint64_t kWindow = 0x10;
inline constexpr uint64_t kEoi = 0x40;
inline constexpr uint32_t kId = 0x00;
inline constexpr uint32_t kVersion = 0x01;
inline constexpr uint32_t kArbitration = 0x02;
inline constexpr uint32_t kRedirectionTable = 0x10;
}  // namespace ioapic_reg

inline constexpr uint64_t kIoapicEntryMasked = 1u << 16;
inline constexpr uint64_t kIoapicEntryLevelTriggered = 1u << 15;
inline constexpr uint64_t kIoapicEntryRemoteIrr = 1u << 14;
inline constexpr uint64_t kIoapicEntryDeliveryStatus = 1u << 12;

class IoApic : public SysBusDevice, public ApicEoiListener {
 public:
  // Property "version": 0x11 (no EOI register) or 0x20 (default), as QEMU's.
  uint8_t version = 0x20;

  IoApic();
  ~IoApic() override;

  MemoryRegion* mmio() { return &mmio_; }

  // ApicEoiListener
  void eoi_broadcast(uint8_t vector) override;

  // Inspection (tests, monitor).
  uint64_t redirection_entry(int pin) const { return redtbl_[pin]; }
  uint8_t id() const { return id_; }

 protected:
  Status do_realize() override;
  void do_unrealize() override;
  void do_reset() override;

 private:
  uint64_t mmio_read(uint64_t addr, unsigned size);
  void mmio_write(uint64_t addr, uint64_t value, unsigned size);
  uint32_t read_indirect();
  void write_indirect(uint32_t value);
  void set_pin(int pin, int level);
  void service();
  void deliver(int pin);

  MemoryRegion mmio_;
  Timer delayed_service_{ClockType::Virtual, [this] { service(); }};
  bool listening_ = false;

  uint8_t ioregsel_ = 0;
  uint8_t id_ = 0;
  std::array<uint64_t, kIoapicPins> redtbl_{};
  uint32_t pin_level_ = 0;  // asserted inputs
  uint32_t edge_irr_ = 0;   // edges latched for delivery
  std::array<int, kIoapicPins> successive_eoi_{};
};

}  // namespace machina
