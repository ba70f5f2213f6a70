// QMP: status, identity, machines and run control.
#include <unistd.h>

#include <algorithm>

#include "accel/kvm/kvm.h"
#include "hw/acpi/powerdown-request.h"
#include "hw/core/machine.h"
#include "hw/pci/pci-info.h"
#include "monitor/monitor.h"
#include "monitor/qmp-cmds.h"
#include "system/cpus.h"
#include "system/iothread.h"
#include "system/runstate.h"
#include "target/i386/x86-cpu.h"

namespace machina {

namespace {

void add(QmpCommandRegistry& r, std::string name, std::vector<QmpArg> args, QmpHandler h) {
  (void)r.add(
      QmpCommand{.name = std::move(name), .args = std::move(args), .handler = std::move(h)});
}

}  // namespace

void qmp_register_machine_commands(QmpCommandRegistry& r) {
  add(r, "query-status", {}, [](const json&, QmpContext&) -> Result<json> {
    return json{{"running", runstate_is_running()},
                {"singlestep", false},
                {"status", runstate_name(runstate())}};
  });
  add(r, "query-iothreads", {}, [](const json&, QmpContext&) -> Result<json> {
    json list = json::array();
    for (IOThread* t : iothreads()) {
      list.push_back({{"id", t->id()},
                      {"thread-id", t->thread_id()},
                      {"poll-max-ns", t->poll_max_ns_},
                      {"poll-grow", t->poll_grow_},
                      {"poll-shrink", t->poll_shrink_},
                      {"aio-max-batch", t->aio_max_batch_}});
    }
    return list;
  });
  add(r, "query-cpus-fast", {}, [](const json&, QmpContext&) -> Result<json> {
    // Each CPU's place in the -smp topology (die-id only with more than one die, as QEMU).
    json list = json::array();
    for (x86::X86Cpu* cpu : x86::x86_cpu_list()) {
      x86::X86CpuPosition p = cpu->position();
      json props = {{"socket-id", p.socket}, {"core-id", p.core}, {"thread-id", p.thread}};
      if (cpu->state().topo.dies > 1) props["die-id"] = p.die;
      list.push_back({{"cpu-index", cpu->cpu_index()},
                      {"qom-path", cpu->canonical_path()},
                      {"thread-id", vcpu_thread_id(*cpu)},
                      {"props", props},
                      {"target", "x86_64"}});
    }
    return list;
  });
  add(r, "query-name", {}, [](const json&, QmpContext&) -> Result<json> {
    json j = json::object();
    if (!guest_name().empty()) j["name"] = guest_name();
    return j;
  });
  add(r, "query-target", {}, [](const json&, QmpContext&) -> Result<json> {
    return json{{"arch", "x86_64"}};
  });
  add(r, "query-kvm", {}, [](const json&, QmpContext&) -> Result<json> {
    // present: /dev/kvm can be used; enabled: this VM runs on it.
    return json{{"enabled", kvm::kvm_enabled()}, {"present", kvm::kvm_available()}};
  });
  add(r, "query-machines", {{"compat-props", QmpArgType::kBool, true}},
      [](const json&, QmpContext&) -> Result<json> {
        json list = json::array();
        for (const MachineClass* mc : machine_classes()) {
          json m = {{"name", mc->name},
                    {"cpu-max", mc->max_cpus},
                    {"hotpluggable-cpus", mc->hotpluggable_cpus},
                    {"numa-mem-supported", mc->numa_mem_supported},
                    {"deprecated", mc->deprecated}};
          if (!mc->alias.empty()) m["alias"] = mc->alias;
          if (mc->is_default) m["is-default"] = true;
          if (!mc->default_cpu_type.empty()) m["default-cpu-type"] = mc->default_cpu_type;
          if (!mc->default_ram_id.empty()) m["default-ram-id"] = mc->default_ram_id;
          list.push_back(m);
        }
        return list;
      });
  add(r, "stop", {}, [](const json&, QmpContext&) -> Result<json> {
    vm_stop();
    return json::object();
  });
  add(r, "cont", {}, [](const json&, QmpContext&) -> Result<json> {
    vm_start();
    return json::object();
  });
  add(r, "system_reset", {}, [](const json&, QmpContext&) -> Result<json> {
    qemu_system_reset("host-qmp-system-reset");
    return json::object();
  });
  add(r, "query-pci", {},
      [](const json&, QmpContext&) -> Result<json> { return pci_query_json(); });
  add(r, "system_powerdown", {}, [](const json&, QmpContext&) -> Result<json> {
    qemu_system_powerdown_request();
    return json::object();
  });
  add(r, "quit", {}, [](const json&, QmpContext&) -> Result<json> {
    qemu_system_shutdown_request("host-qmp-quit");
    return json::object();
  });
}

}  // namespace machina
