// Machines (QEMU's TYPE_MACHINE): the object at /machine that builds the board.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hw/core/hotplug.h"
#include "hw/core/machine-smp.h"
#include "qom/object.h"

namespace machina {

inline constexpr const char* kTypeMachine = "machine";

class MachineClass : public ObjectClass {
 public:
  MACHINA_CLASS_CLONE(MachineClass)
  std::string name;  // "none", "q35"; the QOM type is NAME + "-machine"
  std::string alias;
  std::string desc;
  bool is_default = false;
  int max_cpus = 1;
  bool hotpluggable_cpus = false;
  bool numa_mem_supported = false;
  bool deprecated = false;
  std::string default_cpu_type;  // empty: none
  std::string default_ram_id;    // empty: none
  uint64_t default_ram_size = 0;
  bool no_serial = false;  // no default serial port (e.g. "none")
};

// What the machine is built from (the command line's machine-level options).
struct MachineParams {
  uint64_t ram_size = 0;
  CpuTopology smp;  // -smp
  std::string cpu_model;
  std::string kernel, initrd, append;
  bool nographic = false;
};

// The machine is the hotplug handler of devices that sit on no bus (QEMU's
// machine_get_hotplug_handler); by default they are added and removed synchronously.
class Machine : public Object, public HotplugHandler {
 public:
  // The handler in charge of `dev`, or nullptr to let its bus decide.
  virtual HotplugHandler* hotplug_handler_for(Device& dev);
  const MachineClass& machine_class() const {
    return static_cast<const MachineClass&>(object_class());
  }
  // Builds the board. Runs once, after the machine's properties are set.
  virtual Status init(const MachineParams& params) {
    params_ = params;
    return Status::Ok();
  }
  // Runs once the command line's -object and -device options are created, before the guest
  // starts (QEMU's machine-init-done notifiers): firmware tables that describe the devices.
  virtual Status machine_done() { return Status::Ok(); }
  const MachineParams& params() const { return params_; }

 protected:
  MachineParams params_;
};

// Every concrete machine class, default first.
std::vector<const MachineClass*> machine_classes();
// By machine name or alias ("q35", "pc-q35-7.2"); nullptr if unknown.
const MachineClass* machine_class_find(std::string_view name);
const MachineClass* machine_class_default();

}  // namespace machina
