// The host side of a native PCI Express hot-plug slot in qtests, as Linux's pciehp drives it:
// bus numbering, MSI-X vector 0 delivered into guest RAM, notification enables, event
// acknowledgement, slot power, and the removal handshake that follows a device_del.
#pragma once

#include <cstdint>

#include "qtest/virtio_driver.h"

namespace machina::qtest {

namespace pcie_slot {
inline constexpr uint8_t kExpCap = 0x54;  // pcie-root-port's PCI Express capability
inline constexpr uint8_t kMsixCap = 0x48;
inline constexpr unsigned kSltCap = kExpCap + 0x14, kSltCtl = kExpCap + 0x18,
                          kSltSta = kExpCap + 0x1a;
inline constexpr unsigned kLnkCap = kExpCap + 0x0c, kLnkSta = kExpCap + 0x12;
inline constexpr uint16_t kAbpe = 0x1, kPdce = 0x8, kCcie = 0x10, kHpie = 0x20, kDllsce = 0x1000;
inline constexpr uint16_t kPwrIndOn = 0x100, kPwrIndBlink = 0x200, kPwrIndOff = 0x300, kPic = 0x300,
                          kPcc = 0x400;
inline constexpr uint16_t kAttnIndOff = 0xc0;
inline constexpr uint16_t kAbp = 0x1, kPdc = 0x8, kCc = 0x10, kPds = 0x40, kDllsc = 0x100;
inline constexpr uint16_t kDllla = 0x2000;
}  // namespace pcie_slot

class PcieSlotDriver {
 public:
  // The port at `devfn` on bus 0; its secondary bus gets number `bus`.
  PcieSlotDriver(QTestMachine& m, int devfn, int bus);
  PciFunction& port() { return port_; }
  // The function at `devfn` behind the port.
  PciFunction function(int devfn = 0) { return PciFunction(m_, devfn, bus_); }
  // MSI-X vector 0 of the port writes kMsiData to `msi_addr` (guest RAM); BAR 0 at `bar`.
  void enable_msix(uint64_t bar, uint64_t msi_addr);
  // Whether the port sent its message since the last call.
  bool msi_sent();
  // Presence, button, command-completed and link events on, with interrupts.
  void enable_notifications();
  uint16_t sltctl() { return uint16_t(port_.read(pcie_slot::kSltCtl, 2)); }
  uint16_t sltsta() { return uint16_t(port_.read(pcie_slot::kSltSta, 2)); }
  void set_sltctl(uint16_t v) { port_.write(pcie_slot::kSltCtl, v, 2); }
  // Reads and clears the pending events (pciehp's interrupt handler).
  uint16_t ack();
  // Slot power and power indicator (pciehp_power_on_slot / the indicator it then sets).
  void power_on();
  // What pciehp does once the button's 5 s are over: power off, then the indicator off.
  void power_off();

  static constexpr uint32_t kMsiData = 0xabcd;

 private:
  QTestMachine& m_;
  PciFunction port_;
  int bus_;
  uint64_t msi_addr_ = 0;
};

}  // namespace machina::qtest
