// The human monitor's commands (HMP), used by human-monitor-command and -monitor.
#include <sstream>

#include "block/qapi-block.h"
#include "chardev/char.h"
#include "hw/core/qdev-monitor.h"
#include "hw/core/sysbus.h"
#include "hw/pci/pci-info.h"
#include "monitor/monitor.h"
#include "monitor/qmp-cmds.h"
#include "net/netdev-registry.h"
#include "system/cmdline.h"
#include "system/cpus.h"
#include "system/memory.h"
#include "system/runstate.h"
#include "target/i386/cpu-dump.h"
#include "target/i386/x86-cpu.h"
#include "util/qemu-timer.h"

namespace machina {

namespace {

std::string crlf(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

// The first x86 CPU of the machine (QEMU's monitor defaults to CPU 0).
x86::X86Cpu* first_cpu(Object& o) {
  if (object_dynamic_cast(&o, x86::kTypeX86Cpu)) return static_cast<x86::X86Cpu*>(&o);
  x86::X86Cpu* found = nullptr;
  o.for_each_child([&](Object& c) {
    found = first_cpu(c);
    return found == nullptr;
  });
  return found;
}

Result<std::string> info(const std::vector<std::string>& w) {
  if (w.size() < 2) {
    return std::string(
        "info block [-n] [-v] [device] -- show info of one block device or all block devices "
        "(-n: show named nodes; -v: show details)\n"
        "info chardev -- show the character devices\n"
        "info mtree [-f][-o][-D] -- show memory tree\n"
        "info name -- show the current VM name\n"
        "info network -- show the network state\n"
        "info pci -- show PCI info\n"
        "info qom-tree [path] -- show QOM composition tree\n"
        "info qtree -- show device tree\n"
        "info kvm -- show KVM information\n"
        "info registers -- show the cpu registers\n"
        "info status -- show the current VM status (running|paused)\n"
        "info version -- show the version of QEMU\n");
  }
  const std::string& what = w[1];
  if (what == "status") {
    std::string s = runstate_name(runstate());
    if (runstate() == RunState::Running) return std::string("VM status: running\n");
    if (runstate() == RunState::Paused || runstate() == RunState::Prelaunch) {
      return "VM status: paused" +
             (runstate() == RunState::Prelaunch ? std::string(" (prelaunch)") : "") + "\n";
    }
    return "VM status: paused (" + s + ")\n";
  }
  if (what == "kvm")
    return std::string("kvm support: ") + (current_accel() == "kvm" ? "enabled" : "disabled") +
           "\n";
  if (what == "registers") {
    x86::X86Cpu* cpu = first_cpu(*object_root());
    if (!cpu) return generic_error("No CPU available");
    // The vCPU's state is current in its CpuState while it is stopped (KVM reads it back when
    // pausing): stop it around the dump, as QEMU synchronizes the state first.
    bool running = runstate_is_running();
    if (running) cpus_pause_all();
    std::string text = x86::x86_cpu_dump_state(cpu->state());
    if (running) cpus_resume_all();
    return text;
  }
  if (what == "pci") return pci_info_text();
  if (what == "block") return hmp_info_block_text();
  if (what == "network") return net_info_text();
  if (what == "qtree") return qdev_qtree_text(*sysbus_get_default());
  if (what == "mtree") {
    MtreeOptions o;
    for (size_t i = 2; i < w.size(); ++i) {
      if (w[i] == "-f")
        o.flatview = true;
      else if (w[i] == "-o")
        o.owner = true;
      else if (w[i] == "-D")
        o.disabled = true;
    }
    return mtree_dump(o);
  }
  if (what == "qom-tree") {
    Object* root = object_resolve_path(w.size() > 2 ? w[2] : "/machine");
    if (!root) return generic_error("Path '" + (w.size() > 2 ? w[2] : "") + "' not found");
    return qom_tree_text(*root);
  }
  if (what == "chardev") {
    std::string out;
    for (const auto& c : chardev_query()) {
      out +=
          c["label"].get<std::string>() + ": filename=" + c["filename"].get<std::string>() + "\n";
    }
    return out;
  }
  if (what == "version") return std::string("7.2.0 (") + monitor_package() + ")\n";
  if (what == "name") return guest_name().empty() ? std::string() : guest_name() + "\n";
  return generic_error("unknown info command: '" + what + "'");
}

Result<std::string> run(const std::string& line) {
  auto w = words(line);
  if (w.empty()) return std::string();
  const std::string& cmd = w[0];
  if (cmd == "info") return info(w);
  if (cmd == "help" || cmd == "?") {
    return std::string(
        "cont|c -- resume emulation\n"
        "device_add driver[,prop=value][,...] -- add device\n"
        "device_del device -- remove device\n"
        "info [subcommand] -- show various information about the system state\n"
        "quit|q -- quit the emulator\n"
        "stop|s -- stop emulation\n"
        "system_reset -- reset the system\n");
  }
  if (cmd == "stop" || cmd == "s") {
    vm_stop();
    return std::string();
  }
  if (cmd == "cont" || cmd == "c") {
    vm_start();
    return std::string();
  }
  if (cmd == "system_reset") {
    qemu_system_reset("host-qmp-system-reset");
    return std::string();
  }
  if (cmd == "quit" || cmd == "q") {
    qemu_system_shutdown_request("host-qmp-quit");
    return std::string();
  }
  if (cmd == "device_add") {
    if (w.size() < 2) return generic_error("Parameter 'driver' is missing");
    std::string rest = line.substr(line.find("device_add") + 10);
    rest.erase(0, rest.find_first_not_of(' '));
    auto opts = qemu_opts_parse(device_opts_spec(), rest, true);
    if (!opts.ok()) return opts.error();
    DeviceOptions d = device_options_from(opts.value());
    auto r = qdev_device_add(d);
    if (!r.ok()) return r.error();
    return std::string();
  }
  if (cmd == "device_del") {
    if (w.size() < 2) return generic_error("Parameter 'id' is missing");
    Status s = qdev_device_del(w[1], clock_get_ns(ClockType::Virtual) / 1000000);
    if (!s.ok()) return s.error();
    return std::string();
  }
  return generic_error("unknown command: '" + cmd + "'");
}

}  // namespace

Result<std::string> hmp_execute(const std::string& line) {
  auto r = run(line);
  if (!r.ok()) return Error{r.error().cls, "Error: " + r.message()};
  return crlf(r.value());
}

void qmp_register_hmp_command(QmpCommandRegistry& r) {
  (void)r.add(QmpCommand{
      .name = "human-monitor-command",
      .args = {{"command-line", QmpArgType::kString}, {"cpu-index", QmpArgType::kInt, true}},
      .handler = [](const json& a, QmpContext&) -> Result<json> {
        auto out = hmp_execute(a["command-line"].get<std::string>());
        // HMP reports its errors as output text, not as QMP errors.
        if (!out.ok()) {
          if (out.message().starts_with("Error: unknown command")) {
            return json(crlf(out.message().substr(7) + "\n"));
          }
          return json(crlf(out.message() + "\n"));
        }
        return json(out.value());
      }});
}

}  // namespace machina
