#include "system/vl-help.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "hw/core/machine.h"
#include "hw/core/qdev-monitor.h"
#include "qom/object-interfaces.h"
#include "target/i386/cpu-models.h"

namespace machina {

std::string machine_help_text() {
  std::string out = "Supported machines are:\n";
  char line[256];
  for (const MachineClass* mc : machine_classes()) {
    if (!mc->alias.empty()) {
      std::snprintf(line, sizeof line, "%-20s %s (alias of %s)\n", mc->alias.c_str(),
                    mc->desc.c_str(), mc->name.c_str());
      out += line;
    }
    std::snprintf(line, sizeof line, "%-20s %s%s%s\n", mc->name.c_str(), mc->desc.c_str(),
                  mc->is_default ? " (default)" : "", mc->deprecated ? " (deprecated)" : "");
    out += line;
  }
  return out;
}

std::string accel_help_text() {
  return "Accelerators supported in QEMU binary:\ntcg\nkvm\nqtest\n";
}

std::string cpu_help_text() {
  std::string out = "Available CPUs:\n";
  for (const x86::X86CpuModel& m : x86::x86_cpu_models()) {
    char line[160];
    std::snprintf(line, sizeof line, "x86 %-21s %s\n", m.name.c_str(), m.description.c_str());
    out += line;
  }
  return out;
}

std::string device_help_text() {
  std::map<std::string, std::vector<std::string>> by_category;
  for (const TypeImpl* t : type_list(kTypeDevice, false)) {
    auto& dc = static_cast<const DeviceClass&>(t->klass());
    if (!dc.user_creatable) continue;
    std::string line = "name \"" + t->name() + "\"";
    if (!dc.bus_type.empty()) line += ", bus " + dc.bus_type;
    if (!dc.description.empty()) line += ", desc \"" + dc.description + "\"";
    by_category[dc.category.empty() ? "Uncategorized devices" : dc.category].push_back(line);
  }
  std::string out;
  for (auto& [cat, lines] : by_category) {
    if (!out.empty()) out += "\n";
    out += cat + ":\n";
    std::sort(lines.begin(), lines.end());
    for (auto& l : lines) out += l + "\n";
  }
  return out;
}

Result<std::string> device_type_help_text(const std::string& driver) {
  auto dc = qdev_device_class(driver);
  if (!dc.ok()) return dc.error();
  auto obj = object_new(driver);
  if (!obj.ok()) return obj.error();
  std::string out = driver + " options:\n";
  std::vector<std::string> lines;
  for (const Property* p : obj.value()->properties()) {
    if (!qdev_is_config_property(static_cast<Device&>(*obj.value()), *p)) continue;
    char buf[512];
    std::string head = p->name + "=<" + p->type + ">";
    std::string tail = p->description;
    if (p->default_value) {
      std::string d = p->default_value->is_string() ? p->default_value->get<std::string>()
                                                    : p->default_value->dump();
      tail += (tail.empty() ? "" : " ") + std::string("(default: ") + d + ")";
    }
    std::snprintf(buf, sizeof buf, "  %-24s%s%s", head.c_str(), tail.empty() ? "" : " - ",
                  tail.c_str());
    lines.push_back(buf);
  }
  std::sort(lines.begin(), lines.end());
  if (lines.empty()) return "There are no options for " + driver + ".\n";
  for (auto& l : lines) out += l + "\n";
  return out;
}

std::string object_help_text() {
  std::string out = "List of user creatable objects:\n";
  for (const TypeImpl* t : type_list(kTypeUserCreatable, false)) out += "  " + t->name() + "\n";
  return out;
}

}  // namespace machina
