// PcieSlotDriver: see pcie_slot_driver.h.
#include "qtest/pcie_slot_driver.h"

namespace machina::qtest {

using namespace pcie_slot;

PcieSlotDriver::PcieSlotDriver(QTestMachine& m, int devfn, int bus)
    : m_(m), port_(m, devfn), bus_(bus) {
  port_.write(0x18, uint32_t(bus) << 16 | uint32_t(bus) << 8, 4);
}

void PcieSlotDriver::enable_msix(uint64_t bar, uint64_t msi_addr) {
  msi_addr_ = msi_addr;
  port_.write(0x10, uint32_t(bar), 4);
  port_.write(0x04, 0x6, 2);  // MEMORY | MASTER
  m_.writel(bar + 0, uint32_t(msi_addr));
  m_.writel(bar + 4, uint32_t(msi_addr >> 32));
  m_.writel(bar + 8, kMsiData);
  m_.writel(bar + 12, 0);
  port_.write(kMsixCap + 2, 0x8000, 2);
  m_.writel(msi_addr_, 0);
}

bool PcieSlotDriver::msi_sent() {
  if (!msi_addr_) return false;
  bool sent = m_.readl(msi_addr_) == kMsiData;
  m_.writel(msi_addr_, 0);
  return sent;
}

void PcieSlotDriver::enable_notifications() {
  set_sltctl(sltctl() | kAbpe | kPdce | kCcie | kHpie | kDllsce);
  ack();
}

uint16_t PcieSlotDriver::ack() {
  uint16_t events = sltsta() & (kAbp | kPdc | kCc | kDllsc);
  if (events) port_.write(kSltSta, events, 2);
  return events;
}

void PcieSlotDriver::power_on() {
  set_sltctl(uint16_t((sltctl() & ~(kPcc | kPic)) | kPwrIndBlink));
  ack();
  set_sltctl(uint16_t((sltctl() & ~kPic) | kPwrIndOn));
  ack();
}

void PcieSlotDriver::power_off() {
  set_sltctl(uint16_t(sltctl() | kPcc));
  ack();
  set_sltctl(uint16_t((sltctl() & ~kPic) | kPwrIndOff));
  ack();
}

}  // namespace machina::qtest
