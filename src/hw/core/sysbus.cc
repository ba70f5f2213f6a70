#include "hw/core/sysbus.h"

namespace machina {

namespace {

class SystemBus : public Bus {
 public:
  // Devices are plugged into the system bus by the machine; user devices may be added to it
  // (e.g. isa-debug-exit on the machine's ISA bus later) through a hotplug-capable bus only.
  bool hotplug_allowed() const override { return false; }
};

TypeRegistration system_bus_type{TypeInfo{
    .name = kTypeSystemBus, .parent = kTypeBus, .instance_new = [] { return new SystemBus(); }}};

TypeRegistration sysbus_device_type{TypeInfo{
    .name = kTypeSysBusDevice,
    .parent = kTypeDevice,
    .abstract = true,
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.bus_type = kTypeSystemBus;
          dc.user_creatable = false;
        },
}};

}  // namespace

Bus* sysbus_get_default() {
  Object* unattached = container_get("/machine/unattached");
  if (auto* b = dynamic_cast<Bus*>(unattached->child("sysbus"))) return b;
  auto r = object_new(kTypeSystemBus);
  Ref<Object> o = std::move(r.value());
  auto* bus = static_cast<Bus*>(o.get());
  bus->set_name("main-system-bus");
  (void)unattached->add_child("sysbus", bus);
  return bus;
}

Result<Device*> sysbus_create(std::string_view type, std::string_view name_in_machine) {
  auto r = object_new(type);
  if (!r.ok()) return r.error();
  Ref<Object> o = std::move(r.value());
  auto* dev = dynamic_cast<Device*>(o.get());
  if (!dev) return generic_error("'" + std::string(type) + "' is not a device type");
  if (!name_in_machine.empty()) {
    if (Status s = container_get("/machine")->add_child(name_in_machine, dev); !s.ok()) {
      return s.error();
    }
  }
  dev->attach_to_bus(sysbus_get_default());
  if (Status s = dev->realize(); !s.ok()) {
    dev->unparent();
    return s.error();
  }
  return dev;
}

}  // namespace machina
