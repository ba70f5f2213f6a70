// The human monitor's commands (HMP), used by human-monitor-command and -monitor.
#include <cstdlib>
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

// The CPU with `index`, or nullptr.
x86::X86Cpu* cpu_by_index(int index) {
  for (x86::X86Cpu* cpu : x86::x86_cpu_list())
    if (int(cpu->cpu_index()) == index) return cpu;
  return nullptr;
}

// The registers of `cpus`, stopped around the dump: the vCPU's state is current in its CpuState
// while it is stopped (KVM reads it back when pausing), as QEMU synchronizes the state first.
std::string dump_registers(const std::vector<x86::X86Cpu*>& cpus, bool headers) {
  bool running = runstate_is_running();
  if (running) cpus_pause_all();
  std::string text;
  for (x86::X86Cpu* cpu : cpus) {
    if (headers) text += "\nCPU#" + std::to_string(cpu->cpu_index()) + "\n";
    text += x86::x86_cpu_dump_state(cpu->state());
  }
  if (running) cpus_resume_all();
  return text;
}

Result<std::string> info(const std::vector<std::string>& w, int cpu_index) {
  if (w.size() < 2) {
    return std::string(
        "info block [-n] [-v] [device] -- show info of one block device or all block devices "
        "(-n: show named nodes; -v: show details)\n"
        "info chardev -- show the character devices\n"
        "info cpus -- show infos for each CPU\n"
        "info mtree [-f][-o][-D] -- show memory tree\n"
        "info name -- show the current VM name\n"
        "info network -- show the network state\n"
        "info pci -- show PCI info\n"
        "info qom-tree [path] -- show QOM composition tree\n"
        "info qtree -- show device tree\n"
        "info kvm -- show KVM information\n"
        "info registers [-a] -- show the cpu registers (-a: all CPUs)\n"
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
    if (w.size() > 2 && w[2] == "-a") return dump_registers(x86::x86_cpu_list(), true);
    x86::X86Cpu* cpu = cpu_by_index(cpu_index);
    if (!cpu) return generic_error("No CPU available");
    return dump_registers({cpu}, false);
  }
  if (what == "cpus") {
    std::string out;
    for (x86::X86Cpu* cpu : x86::x86_cpu_list()) {
      out += std::string(int(cpu->cpu_index()) == cpu_index ? "* " : "  ") + "CPU #" +
             std::to_string(cpu->cpu_index()) +
             ": thread_id=" + std::to_string(vcpu_thread_id(*cpu)) + "\n";
    }
    return out;
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

Result<std::string> run(const std::string& line, int& cpu_index) {
  auto w = words(line);
  if (w.empty()) return std::string();
  const std::string& cmd = w[0];
  if (cmd == "info") return info(w, cpu_index);
  if (cmd == "cpu") {
    if (w.size() < 2) return generic_error("Parameter 'index' is missing");
    char* end = nullptr;
    long n = std::strtol(w[1].c_str(), &end, 0);
    // As QEMU: an unknown index is reported as the command's output.
    if (*end || !cpu_by_index(int(n))) return std::string("invalid CPU index\n");
    cpu_index = int(n);
    return std::string();
  }
  if (cmd == "help" || cmd == "?") {
    return std::string(
        "cont|c -- resume emulation\n"
        "cpu index -- set the default CPU\n"
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

Result<std::string> hmp_execute(const std::string& line, int& cpu_index) {
  auto r = run(line, cpu_index);
  if (!r.ok()) return Error{r.error().cls, "Error: " + r.message()};
  return crlf(r.value());
}

void qmp_register_hmp_command(QmpCommandRegistry& r) {
  (void)r.add(QmpCommand{
      .name = "human-monitor-command",
      .args = {{"command-line", QmpArgType::kString}, {"cpu-index", QmpArgType::kInt, true}},
      .handler = [](const json& a, QmpContext&) -> Result<json> {
        // A monitor of its own for the command, as QEMU's: CPU 0 unless cpu-index says.
        int cpu_index = 0;
        if (a.contains("cpu-index")) {
          cpu_index = a["cpu-index"].get<int>();
          if (!cpu_by_index(cpu_index))
            return generic_error("Parameter 'cpu-index' expects a CPU number");
        }
        auto out = hmp_execute(a["command-line"].get<std::string>(), cpu_index);
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
