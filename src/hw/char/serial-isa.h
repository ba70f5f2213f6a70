// isa-serial: a 16550A UART on the ISA bus (QEMU's TYPE_ISA_SERIAL).
// Properties: index (which COM port: 0-3; default: the next free one), iobase and irq (default
// from the index: 0x3f8/4, 0x2f8/3, 0x3e8/4, 0x2e8/3), chardev (the backend's id).
// GPIO: unnamed output 0, connected to ISA IRQ `irq` at realize.
#pragma once

#include <memory>
#include <string>

#include "hw/char/serial.h"
#include "hw/isa/isa-bus.h"

namespace machina {

inline constexpr const char* kTypeIsaSerial = "isa-serial";
inline constexpr int kMaxIsaSerialPorts = 4;

class IsaSerial : public IsaDevice {
 public:
  uint32_t index = 0xffffffff;
  uint32_t iobase = 0xffffffff;
  uint32_t isairq = 0xffffffff;
  std::string chardev;

  IsaSerial();
  SerialCore& core() { return core_; }

 protected:
  Status do_realize() override;
  void do_unrealize() override;
  void do_reset() override { core_.reset(); }

 private:
  SerialCore core_;
  MemoryRegion io_;
};

}  // namespace machina
