// machina-gsi: see pc-gsi.h.
#include "hw/i386/pc-gsi.h"

#include "hw/core/sysbus.h"
#include "hw/isa/isa-bus.h"

namespace machina {

namespace {

class PcGsi : public SysBusDevice {
 public:
  PcGsi() {
    init_gpio_in("", kGsiNumPins, [this](int n, int level) {
      if (n < kIsaNumIrqs) set_gpio_out(kGsiOutI8259, n, level);
      // ISA IRQ 0 (the PIT) is on I/O APIC pin 2, as the MADT's override says.
      set_gpio_out(kGsiOutIoapic, n == 0 ? 2 : n, level);
    });
    init_gpio_out(kGsiOutI8259, kIsaNumIrqs);
    init_gpio_out(kGsiOutIoapic, kGsiNumPins);
  }
};

TypeRegistration pc_gsi_type{TypeInfo{
    .name = kTypePcGsi,
    .parent = kTypeSysBusDevice,
    .instance_new = [] { return new PcGsi(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.user_creatable = false;
          dc.description = "machina: the PC's GSI fan-out to the 8259 pair and the I/O APIC";
        },
}};

}  // namespace

}  // namespace machina
