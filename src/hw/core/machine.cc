#include "hw/core/machine.h"

#include <algorithm>

#include "hw/core/qdev.h"

namespace machina {

namespace {

TypeRegistration machine_type{TypeInfo{
    .name = kTypeMachine,
    .parent = "object",
    .abstract = true,
    .interfaces = {kTypeHotplugHandler},
    .class_new = class_from_parent<MachineClass, ObjectClass>(),
}};

}  // namespace

HotplugHandler* Machine::hotplug_handler_for(Device& dev) {
  return dev.parent_bus() ? nullptr : this;
}

std::vector<const MachineClass*> machine_classes() {
  std::vector<const MachineClass*> out;
  for (const TypeImpl* t : type_list(kTypeMachine, false)) {
    out.push_back(&static_cast<const MachineClass&>(t->klass()));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](auto* a, auto* b) { return a->is_default && !b->is_default; });
  return out;
}

const MachineClass* machine_class_find(std::string_view name) {
  for (const MachineClass* mc : machine_classes()) {
    if (mc->name == name || (!mc->alias.empty() && mc->alias == name)) return mc;
  }
  return nullptr;
}

const MachineClass* machine_class_default() {
  for (const MachineClass* mc : machine_classes()) {
    if (mc->is_default) return mc;
  }
  return machine_class_find("none");
}

}  // namespace machina
