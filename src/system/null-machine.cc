// QEMU's "none" machine: no devices; RAM at address 0 only when -m asks for it.
#include "hw/core/machine.h"
#include "system/memory.h"

namespace machina {

namespace {

class NoneMachine : public Machine {
 public:
  Status init(const MachineParams& params) override {
    params_ = params;
    if (params.ram_size) {
      if (Status s = ram_.init_ram(this, "ram", params.ram_size); !s.ok()) return s;
      if (Status s = get_system_memory()->add_subregion(0, &ram_); !s.ok()) return s;
    }
    return Status::Ok();
  }

 private:
  MemoryRegion ram_;
};

TypeRegistration none_machine_type{TypeInfo{
    .name = "none-machine",
    .parent = kTypeMachine,
    .instance_new = [] { return new NoneMachine(); },
    .class_init =
        [](ObjectClass& c) {
          auto& mc = static_cast<MachineClass&>(c);
          mc.name = "none";
          mc.desc = "empty machine";
          mc.max_cpus = 1;
          mc.default_ram_id = "ram";
          mc.no_serial = true;
        },
}};

}  // namespace
}  // namespace machina
