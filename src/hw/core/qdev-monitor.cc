#include "hw/core/qdev-monitor.h"

#include <atomic>
#include <functional>

#include "hw/core/hotplug.h"

namespace machina {

namespace {
std::atomic<bool> g_running{false};

void for_each_bus(Object& o, const std::function<bool(Bus&)>& fn, bool* stop) {
  if (*stop) return;
  if (auto* b = dynamic_cast<Bus*>(&o)) {
    if (!fn(*b)) {
      *stop = true;
      return;
    }
  }
  for (Object* c : o.children()) {
    for_each_bus(*c, fn, stop);
    if (*stop) return;
  }
}

// Buses in depth-first order, following bus -> device -> child bus links.
void walk_buses(Bus& b, const std::function<bool(Bus&)>& fn, bool* stop) {
  if (*stop) return;
  if (!fn(b)) {
    *stop = true;
    return;
  }
  for (Device* d : b.devices()) {
    for (Bus* cb : d->child_buses()) walk_buses(*cb, fn, stop);
  }
}

// Root buses: buses whose parent is no device (e.g. the main system bus), plus any bus found in
// the /machine subtree if none exists.
std::vector<Bus*> root_buses() {
  std::vector<Bus*> out;
  bool stop = false;
  Object* machine = object_resolve_path("/machine");
  if (!machine) return out;
  for_each_bus(
      *machine,
      [&](Bus& b) {
        if (!b.parent_device()) out.push_back(&b);
        return true;
      },
      &stop);
  return out;
}

void visit_all_buses(const std::function<bool(Bus&)>& fn) {
  bool stop = false;
  for (Bus* r : root_buses()) {
    walk_buses(*r, fn, &stop);
    if (stop) return;
  }
}

}  // namespace

DeviceOptions device_options_from(const QemuOpts& opts) {
  DeviceOptions d;
  for (const auto& o : opts.opts) {
    if (o.name == "driver") {
      d.driver = o.value;
    } else if (o.name == "bus") {
      d.bus = o.value;
    } else {
      d.props.emplace_back(o.name, json(o.value));
    }
  }
  if (!opts.id.empty()) d.id = opts.id;
  return d;
}

void qdev_set_machine_running(bool running) {
  g_running = running;
}
bool qdev_machine_running() {
  return g_running;
}

Bus* qdev_find_default_bus(std::string_view bus_type, bool need_hotplug) {
  Bus* found = nullptr;
  visit_all_buses([&](Bus& b) {
    if (b.is_a(bus_type) && !b.full() && (!need_hotplug || b.hotplug_allowed())) {
      found = &b;
      return false;
    }
    return true;
  });
  return found;
}

Result<Bus*> qdev_find_bus(std::string_view path) {
  Object* o = object_resolve_path(path);
  if (!o && !path.starts_with("/"))
    o = object_resolve_path("/machine/peripheral/" + std::string(path));
  if (auto* b = dynamic_cast<Bus*>(o)) return b;
  if (auto* d = dynamic_cast<Device*>(o)) {
    const auto& buses = d->child_buses();
    std::string name = d->id() ? *d->id() : d->type_name();
    if (buses.empty()) return generic_error("Device '" + name + "' has no child bus");
    if (buses.size() > 1) return generic_error("Device '" + name + "' has multiple child buses");
    return buses.front();
  }
  Bus* found = nullptr;
  visit_all_buses([&](Bus& b) {
    if (b.name() == path) {
      found = &b;
      return false;
    }
    return true;
  });
  if (found) return found;
  return generic_error("Bus '" + std::string(path) + "' not found");
}

Result<const DeviceClass*> qdev_device_class(std::string_view driver) {
  const TypeImpl* t = type_lookup(driver);
  if (!t || !t->is_a(kTypeDevice)) {
    return generic_error("'" + std::string(driver) + "' is not a valid device model name");
  }
  if (t->is_abstract()) {
    return generic_error("Parameter 'driver' expects a non-abstract device type");
  }
  auto& dc = static_cast<const DeviceClass&>(t->klass());
  if (!dc.user_creatable) {
    return generic_error("Parameter 'driver' expects a pluggable device type");
  }
  return &dc;
}

Result<Device*> qdev_device_add(const DeviceOptions& opts) {
  auto dcr = qdev_device_class(opts.driver);
  if (!dcr.ok()) return dcr.error();
  const DeviceClass& dc = *dcr.value();
  bool hotplug = qdev_machine_running();

  Bus* bus = nullptr;
  if (opts.bus) {
    auto br = qdev_find_bus(*opts.bus);
    if (!br.ok()) return br.error();
    bus = br.value();
    if (dc.bus_type.empty() || !bus->is_a(dc.bus_type)) {
      return generic_error("Device '" + opts.driver + "' can't go on " + bus->type_name() + " bus");
    }
  } else if (!dc.bus_type.empty()) {
    bus = qdev_find_default_bus(dc.bus_type, hotplug);
    if (!bus) {
      return generic_error("No '" + dc.bus_type + "' bus found for device '" + opts.driver + "'");
    }
  }
  if (bus && bus->full()) return generic_error("Bus '" + bus->name() + "' is full");
  if (hotplug && bus && !bus->hotplug_allowed()) {
    return generic_error("Bus '" + bus->name() + "' does not support hotplugging");
  }
  if (hotplug && !dc.hotpluggable) {
    return generic_error("Device '" + opts.driver + "' does not support hotplugging");
  }

  auto r = object_new(opts.driver);
  if (!r.ok()) return r.error();
  Ref<Object> obj = std::move(r.value());
  auto* dev = static_cast<Device*>(obj.get());
  dev->set_hotplugged(hotplug);

  for (const auto& [name, value] : opts.props) {
    Status s = (!opts.from_json && value.is_string())
                   ? dev->property_parse(name, value.get<std::string>())
                   : dev->property_set(name, value);
    if (!s.ok()) return s.error();
  }
  if (Status s = qdev_set_id(*dev, opts.id); !s.ok()) return s.error();
  if (bus) dev->attach_to_bus(bus);
  if (Status s = dev->realize(); !s.ok()) {
    dev->unparent();  // never realized: no DEVICE_DELETED
    return s.error();
  }
  return dev;  // owned by the tree
}

Device* qdev_find_device(std::string_view id_or_path) {
  Object* o = container_get("/machine/peripheral")->child(id_or_path);
  if (!o) o = object_resolve_path(id_or_path);
  return dynamic_cast<Device*>(o);
}

Status qdev_device_del(std::string_view id, int64_t now_ms) {
  Object* o = container_get("/machine/peripheral")->child(id);
  if (!o) o = object_resolve_path(id);
  if (!o) return Error{ErrorClass::DeviceNotFound, "Device '" + std::string(id) + "' not found"};
  auto* dev = dynamic_cast<Device*>(o);
  if (!dev) return generic_error(std::string(id) + " is not a hotpluggable device");
  if (dev->unplug_pending() &&
      (dev->unplug_expires_ms() == 0 || dev->unplug_expires_ms() > now_ms)) {
    return generic_error("Device " + std::string(id) + " is already in the process of unplug");
  }
  return qdev_unplug(*dev, now_ms);
}

Status qdev_unplug(Device& dev, int64_t /*now_ms*/) {
  Bus* bus = dev.parent_bus();
  if (bus && !bus->hotplug_allowed()) {
    return generic_error("Bus '" + bus->name() + "' does not support hotplugging");
  }
  if (!dev.device_class().hotpluggable) {
    return generic_error("Device '" + dev.type_name() + "' does not support hotplugging");
  }
  HotplugHandler* h = qdev_get_hotplug_handler(dev);
  if (!h)
    return generic_error("Bus '" + (bus ? bus->name() : std::string("")) +
                         "' does not support hotplugging");
  Ref<Device> keep(&dev);
  bool asynchronous = false;
  if (Status s = h->unplug_request(dev, &asynchronous); !s.ok()) return s;
  if (asynchronous) return Status::Ok();  // the controller completes it with unplug()
  return h->unplug(dev);
}

namespace {

std::string indent(int n) {
  return std::string(size_t(n), ' ');
}

std::string value_text(const json& v) {
  if (v.is_string()) return "\"" + v.get<std::string>() + "\"";
  return v.dump();
}

void qtree_bus(Bus& b, int level, std::string& out);

void qtree_dev(Device& d, int level, std::string& out) {
  out += indent(level) + "dev: " + d.type_name() + ", id \"" + (d.id() ? *d.id() : "") + "\"\n";
  for (const Property* p : d.properties()) {
    if (!qdev_is_config_property(d, *p) || !p->get) continue;
    auto v = d.property_get(p->name);
    if (!v.ok()) continue;
    out += indent(level + 2) + p->name + " = " + value_text(v.value()) + "\n";
  }
  if (d.parent_bus()) {
    std::string addr = d.parent_bus()->device_address(d);
    if (!addr.empty()) out += indent(level + 2) + addr + "\n";
  }
  for (Bus* cb : d.child_buses()) qtree_bus(*cb, level + 2, out);
}

void qtree_bus(Bus& b, int level, std::string& out) {
  out += indent(level) + "bus: " + b.name() + "\n";
  out += indent(level + 2) + "type " + b.type_name() + "\n";
  for (Device* d : b.devices()) qtree_dev(*d, level + 2, out);
}

// As QEMU's `info qom-tree`: the root by its path, children as "/NAME (TYPE)".
void qom_tree(Object& o, int level, std::string& out) {
  out += indent(level) + (level == 0 ? o.canonical_path() : "/" + o.name_in_parent()) + " (" +
         o.type_name() + ")\n";
  for (Object* c : o.children()) qom_tree(*c, level + 2, out);
}

}  // namespace

std::string qdev_qtree_text(Bus& root) {
  std::string out;
  qtree_bus(root, 0, out);
  return out;
}

std::string qom_tree_text(Object& root) {
  std::string out;
  qom_tree(root, 0, out);
  return out;
}

}  // namespace machina
