// The ISA bus and ISA device base: see isa-bus.h.
#include "hw/isa/isa-bus.h"

#include <algorithm>

namespace machina {

namespace {

TypeRegistration isa_bus_type{
    TypeInfo{.name = kTypeIsaBus, .parent = kTypeBus, .instance_new = [] { return new IsaBus(); }}};

TypeRegistration isa_device_type{TypeInfo{
    .name = kTypeIsaDevice,
    .parent = kTypeDevice,
    .abstract = true,
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.bus_type = kTypeIsaBus;
          // As QEMU: ISA devices are cold-plugged only.
          dc.hotpluggable = false;
        },
}};

}  // namespace

void IsaBus::set_irq(int n, IrqLine* line) {
  if (n >= 0 && n < kIsaNumIrqs) irqs_[size_t(n)] = line;
}

IrqLine* IsaBus::irq(int n) const {
  if (n < 0 || n >= kIsaNumIrqs) return nullptr;
  return irqs_[size_t(n)];
}

IrqLine* IsaDevice::isa_get_irq(int n) const {
  IsaBus* bus = isa_bus();
  return bus ? bus->irq(n) : nullptr;
}

Status IsaDevice::isa_register_ioport(MemoryRegion* mr, uint16_t start) {
  IsaBus* bus = isa_bus();
  MemoryRegion* io = bus ? bus->address_space_io() : get_system_io();
  if (Status s = io->add_subregion(start, mr); !s.ok()) return s;
  ioports_.push_back(mr);
  return Status::Ok();
}

void IsaDevice::isa_unregister_ioports() {
  for (auto it = ioports_.rbegin(); it != ioports_.rend(); ++it) {
    if (MemoryRegion* c = (*it)->container()) (void)c->del_subregion(*it);
  }
  ioports_.clear();
}

Result<IsaBus*> isa_bus_new(Device* parent, std::string_view name) {
  auto r = qbus_new(kTypeIsaBus, parent, name);
  if (!r.ok()) return r.error();
  return static_cast<IsaBus*>(r.value());
}

void isa_bus_set_irqs(IsaBus& bus, IrqLine* const* lines) {
  for (int i = 0; i < kIsaNumIrqs; ++i) bus.set_irq(i, lines[i]);
}

Result<Device*> isa_create_simple(IsaBus& bus, std::string_view type,
                                  const std::vector<std::pair<std::string, std::string>>& props,
                                  std::string_view name_in_machine,
                                  const std::function<void(Device&)>& configure) {
  auto r = object_new(type);
  if (!r.ok()) return r.error();
  Ref<Object> o = std::move(r.value());
  auto* dev = dynamic_cast<IsaDevice*>(o.get());
  if (!dev) return generic_error("'" + std::string(type) + "' is not an ISA device type");
  for (const auto& [k, v] : props) {
    if (Status s = dev->property_parse(k, v); !s.ok()) return s.error();
  }
  if (!name_in_machine.empty()) {
    if (Status s = container_get("/machine")->add_child(name_in_machine, dev); !s.ok()) {
      return s.error();
    }
  }
  dev->attach_to_bus(&bus);
  if (configure) configure(*dev);
  if (Status s = dev->realize(); !s.ok()) {
    dev->unparent();
    dev->detach_from_bus();
    return s.error();
  }
  return static_cast<Device*>(dev);
}

}  // namespace machina
