// machina-gsi: the PC's global system interrupt fan-out (QEMU's GSIState and gsi_handler). Every
// interrupt source of the board drives one of its 24 unnamed GPIO inputs (GSI n); input n < 16
// goes on to the 8259 pair's IRQ n (named output "i8259"), and every input to the I/O APIC's pin
// n (named output "ioapic", connected by whoever adds the I/O APIC), except input 0, the PIT's
// IRQ 0, which goes to pin 2 (the interrupt source override of the MADT, as QEMU's I/O APIC).
// Intercepting its inputs with qtest's irq_intercept_in shows each ISA IRQ as its device drives it.
#pragma once

namespace machina {

inline constexpr const char* kTypePcGsi = "machina-gsi";
inline constexpr int kGsiNumPins = 24;  // as the I/O APIC's
inline constexpr const char* kGsiOutI8259 = "i8259";
inline constexpr const char* kGsiOutIoapic = "ioapic";

}  // namespace machina
