// machina-isa-bridge: see isa-bridge.h.
#include "hw/isa/isa-bridge.h"

#include "hw/core/sysbus.h"

namespace machina {

namespace {

class IsaBridge : public SysBusDevice {
 protected:
  Status do_realize() override {
    if (!child_buses().empty()) return Status::Ok();
    auto r = isa_bus_new(this, "isa.0");
    return r.ok() ? Status::Ok() : Status(r.error());
  }
};

TypeRegistration isa_bridge_type{TypeInfo{
    .name = kTypeIsaBridge,
    .parent = kTypeSysBusDevice,
    .instance_new = [] { return new IsaBridge(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.user_creatable = false;
          dc.hotpluggable = false;
          dc.description = "machina: ISA bus bridge (stands in for the LPC bridge)";
        },
}};

}  // namespace

Result<IsaBus*> isa_bridge_create(std::string_view name_in_machine) {
  auto r = sysbus_create(kTypeIsaBridge, name_in_machine);
  if (!r.ok()) return r.error();
  Device* dev = r.value();
  if (dev->child_buses().empty()) return generic_error("ISA bridge has no bus");
  return static_cast<IsaBus*>(dev->child_buses().front());
}

}  // namespace machina
