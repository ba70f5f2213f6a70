// The ISA bus (QEMU's TYPE_ISA_BUS "ISA") and the base of the devices that plug into it
// (TYPE_ISA_DEVICE "isa-device").
//
// An ISA bus has 16 interrupt lines. The machine tells the bus which input line each ISA IRQ
// drives (isa_bus_set_irqs: on a PC, the GSI fan-out to the 8259 pair and, later, the I/O APIC).
// A device asks the bus for IRQ n (IsaDevice::isa_get_irq) and drives the line it gets. I/O ports
// are registered through the device (isa_register_ioport), which maps them into the machine's
// I/O port space and takes them out again at unrealize.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "hw/core/qdev.h"
#include "system/memory.h"

namespace machina {

inline constexpr const char* kTypeIsaBus = "ISA";
inline constexpr const char* kTypeIsaDevice = "isa-device";
inline constexpr int kIsaNumIrqs = 16;

class IsaBus : public Bus {
 public:
  // Connects ISA IRQ n to `line` (nullptr: unconnected). Devices realized afterwards see it.
  void set_irq(int n, IrqLine* line);
  // The line ISA IRQ n drives, or nullptr (unconnected or out of range).
  IrqLine* irq(int n) const;
  // The I/O port space the bus decodes (the machine's).
  MemoryRegion* address_space_io() const { return get_system_io(); }

 private:
  std::array<IrqLine*, kIsaNumIrqs> irqs_{};
};

class IsaDevice : public Device {
 public:
  IsaBus* isa_bus() const { return dynamic_cast<IsaBus*>(parent_bus()); }
  // The line of ISA IRQ n on this device's bus; nullptr if n is out of range or unconnected.
  IrqLine* isa_get_irq(int n) const;
  // Connects the device's unnamed GPIO output `gpio` to ISA IRQ `isairq` of its bus (QEMU's
  // isa_connect_gpio_out).
  void isa_connect_gpio_out(int gpio, int isairq) {
    connect_gpio_out("", gpio, isa_get_irq(isairq));
  }
  // Maps `mr` at port `start` of the bus's I/O space; removed again at unrealize.
  Status isa_register_ioport(MemoryRegion* mr, uint16_t start);

 protected:
  // Subclasses that override do_unrealize call this (or IsaDevice::do_unrealize).
  void do_unrealize() override { isa_unregister_ioports(); }
  void isa_unregister_ioports();

 private:
  std::vector<MemoryRegion*> ioports_;
};

// Creates the ISA bus `name` ("isa.0") below `parent` (the bridge that decodes it).
Result<IsaBus*> isa_bus_new(Device* parent, std::string_view name = "isa.0");
// Connects the bus's 16 IRQs to lines[0..15].
void isa_bus_set_irqs(IsaBus& bus, IrqLine* const* lines);

// Creates a built-in device of `type` on `bus` with the given properties (as -device strings),
// realizes it and returns it. With a name, it is added as /machine/NAME; else it lands in
// /machine/unattached. `configure` (optional) runs on the device just before realize.
Result<Device*> isa_create_simple(
    IsaBus& bus, std::string_view type,
    const std::vector<std::pair<std::string, std::string>>& props = {},
    std::string_view name_in_machine = "", const std::function<void(Device&)>& configure = {});

}  // namespace machina
