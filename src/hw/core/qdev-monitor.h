// The management side of qdev (QEMU's qdev-monitor.c): creating devices from -device / device_add
// options, finding buses and devices, device_del with its removal contract, info qtree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hw/core/qdev.h"
#include "util/qemu-option.h"

namespace machina {

// A device's options: either strings from the command line or JSON values from QMP.
struct DeviceOptions {
  std::string driver;
  std::optional<std::string> id;
  std::optional<std::string> bus;
  // Remaining properties, in the order given. Values are JSON strings when from the command line.
  std::vector<std::pair<std::string, json>> props;
  bool from_json = false;
};

// -device / HMP device_add options (driver=..., id=..., bus=..., the rest properties).
DeviceOptions device_options_from(const QemuOpts& opts);

// Whether the machine has been started (devices added now are hot-plugged).
void qdev_set_machine_running(bool running);
bool qdev_machine_running();

// The bus a device goes on by default: the first bus of its type (depth-first from /machine)
// that is not full (and allows hotplug when hotplugging).
Bus* qdev_find_default_bus(std::string_view bus_type, bool need_hotplug);
// Finds a bus by bus= value: a QOM path, a bus name, or the id/path of a device with one bus.
Result<Bus*> qdev_find_bus(std::string_view path);

// Checks a driver name like QEMU's qdev_get_device_class.
Result<const DeviceClass*> qdev_device_class(std::string_view driver);

// -device / device_add: create, set properties, place in the tree, plug, realize.
Result<Device*> qdev_device_add(const DeviceOptions& opts);

// Looks up a device by id (under /machine/peripheral) or QOM path.
Device* qdev_find_device(std::string_view id_or_path);

// device_del. `now_ms` is the virtual clock, for the expiry of pending guest requests.
Status qdev_device_del(std::string_view id, int64_t now_ms);
// qdev_unplug: the part of device_del after the lookup.
Status qdev_unplug(Device& dev, int64_t now_ms);

// Text of `info qtree`, from the given root bus.
std::string qdev_qtree_text(Bus& root);
// Text of `info qom-tree` from an object.
std::string qom_tree_text(Object& root);

}  // namespace machina
