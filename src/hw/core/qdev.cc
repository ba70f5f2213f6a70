// Devices: lifecycle, realize/unrealize, GPIO lines, DEVICE_DELETED at finalize.
#include "hw/core/qdev.h"

#include <algorithm>
#include <atomic>

#include "hw/core/hotplug.h"
#include "hw/core/qdev-events.h"
#include "qom/property-types.h"
#include "util/qemu-option.h"

namespace machina {

const char* lifecycle_name(DeviceLifecycle s) {
  switch (s) {
    case DeviceLifecycle::Created:
      return "created";
    case DeviceLifecycle::Realized:
      return "realized";
    case DeviceLifecycle::UnplugPending:
      return "unplug-pending";
    case DeviceLifecycle::Unrealized:
      return "unrealized";
    case DeviceLifecycle::Unparented:
      return "unparented";
  }
  return "?";
}

namespace {

std::atomic<DeviceEventSink*> g_sink{nullptr};
std::function<HotplugHandler*(Device&)>& machine_router() {
  static auto* r = new std::function<HotplugHandler*(Device&)>();
  return *r;
}

void device_class_init(ObjectClass& oc) {
  auto& dc = static_cast<DeviceClass&>(oc);
  dc.description = "";
  Property realized;
  realized.name = "realized";
  realized.type = "bool";
  realized.settable_after_realize = true;
  realized.get = [](Object& o) -> Result<json> { return json(static_cast<Device&>(o).realized()); };
  realized.set = [](Object& o, const json& v) -> Status {
    if (!v.is_boolean()) return prop::invalid_type("realized", "boolean");
    auto& d = static_cast<Device&>(o);
    if (v.get<bool>()) return d.realize();
    d.unrealize();
    return Status::Ok();
  };
  realized.parse = [](Object& o, std::string_view s) -> Status {
    auto b = parse_bool(s);
    if (!b) return prop::expects("realized", "'on' or 'off'");
    return o.property_set("realized", json(*b));
  };
  dc.add_property(std::move(realized));

  Property hotplugged;
  hotplugged.name = "hotplugged";
  hotplugged.type = "bool";
  hotplugged.get = [](Object& o) -> Result<json> {
    return json(static_cast<Device&>(o).hotplugged());
  };
  dc.add_property(std::move(hotplugged));

  Property parent_bus;
  parent_bus.name = "parent_bus";
  parent_bus.type = "link<bus>";
  parent_bus.get = [](Object& o) -> Result<json> {
    Bus* b = static_cast<Device&>(o).parent_bus();
    return json(b ? b->canonical_path() : std::string());
  };
  parent_bus.target = [](Object& o) -> Object* { return static_cast<Device&>(o).parent_bus(); };
  dc.add_property(std::move(parent_bus));

  Property lifecycle;
  lifecycle.name = "lifecycle";
  lifecycle.type = "str";
  lifecycle.description = "machina: created, realized, unplug-pending, unrealized, unparented";
  lifecycle.get = [](Object& o) -> Result<json> {
    return json(lifecycle_name(static_cast<Device&>(o).lifecycle()));
  };
  dc.add_property(std::move(lifecycle));
}

TypeRegistration device_type{TypeInfo{
    .name = kTypeDevice,
    .parent = "object",
    .abstract = true,
    .class_new = class_from_parent<DeviceClass, ObjectClass>(),
    .class_init = device_class_init,
}};

TypeRegistration bus_type{TypeInfo{
    .name = kTypeBus,
    .parent = "object",
    .abstract = true,
    .class_new = class_from_parent<BusClass, ObjectClass>(),
}};

TypeRegistration hotplug_handler_type{
    TypeInfo{.name = kTypeHotplugHandler, .parent = "interface", .abstract = true}};

}  // namespace

DeviceEventSink* qdev_set_event_sink(DeviceEventSink* sink) {
  return g_sink.exchange(sink);
}
DeviceEventSink* qdev_event_sink() {
  return g_sink.load();
}

void qdev_set_machine_hotplug_router(std::function<HotplugHandler*(Device&)> router) {
  machine_router() = std::move(router);
}

HotplugHandler* qdev_get_hotplug_handler(Device& dev) {
  if (auto& r = machine_router(); r) {
    if (HotplugHandler* h = r(dev)) return h;
  }
  return dev.parent_bus() ? dev.parent_bus()->hotplug_handler() : nullptr;
}

bool Bus::hotplug_allowed() const {
  return hotplug_handler_ && hotplug_handler_->hotpluggable_bus(*this);
}

Status HotplugHandler::unplug(Device& dev) {
  dev.unparent();
  return Status::Ok();
}

// --- global properties

namespace {
std::vector<GlobalProperty>& globals() {
  static auto* g = new std::vector<GlobalProperty>();
  return *g;
}
}  // namespace

void qdev_add_global_property(GlobalProperty g) {
  globals().push_back(std::move(g));
}
void qdev_clear_global_properties() {
  globals().clear();
}

Status qdev_check_global_properties() {
  for (const GlobalProperty& g : globals()) {
    const TypeImpl* t = type_lookup(g.driver);
    if (!t || !t->is_a(kTypeDevice)) {
      return generic_error("Warning: global " + g.driver + "." + g.property +
                           " has invalid class name");
    }
  }
  return Status::Ok();
}

void Device::post_init() {
  for (const GlobalProperty& g : globals()) {
    if (!is_a(g.driver)) continue;
    // A global that does not fit is reported when the device is created by the user; for
    // built-in devices it is ignored, as QEMU does for non-fatal globals.
    (void)property_parse(g.property, g.value);
  }
}

// --- Device

Device::Device() = default;

Device::~Device() {
  // Instance properties and child buses are gone already (Object::finalize); claims are released
  // by their destructors right after this body, before after_finalize() runs.
}

Status Device::realize() {
  if (realized()) return Status::Ok();
  if (state_ != DeviceLifecycle::Created && state_ != DeviceLifecycle::Unrealized) {
    return generic_error("Device '" + type_name() + "' is being removed");
  }
  if (!parent()) {
    static int unattached_count = 0;
    Object* unattached = container_get("/machine/unattached");
    Status s = unattached->add_child("device[" + std::to_string(unattached_count++) + "]", this);
    if (!s.ok()) return s;
  }
  HotplugHandler* handler = qdev_get_hotplug_handler(*this);
  if (handler) {
    if (Status s = handler->pre_plug(*this); !s.ok()) return s;
  }
  if (parent_bus_) {
    if (Status s = parent_bus_->check_device(*this); !s.ok()) return s;
  }
  if (Status s = do_realize(); !s.ok()) return s;
  state_ = DeviceLifecycle::Realized;
  was_realized_ = true;
  if (handler) {
    if (Status s = handler->plug(*this); !s.ok()) {
      unrealize();
      return s;
    }
  }
  return Status::Ok();
}

void Device::unrealize() {
  if (!realized()) return;
  // Children first: the devices on our buses, most recently plugged first.
  for (Bus* b : child_buses_) {
    auto devs = b->devices();
    for (auto it = devs.rbegin(); it != devs.rend(); ++it) (*it)->unrealize();
  }
  do_unrealize();
  state_ = DeviceLifecycle::Unrealized;
}

void Device::reset_tree() {
  for (Bus* b : child_buses_) qdev_reset_all(*b);
  do_reset();
}

void Device::set_unplug_pending(int64_t expires_ms) {
  if (state_ == DeviceLifecycle::Realized) state_ = DeviceLifecycle::UnplugPending;
  unplug_expires_ms_ = expires_ms;
}

void Device::clear_unplug_pending() {
  if (state_ == DeviceLifecycle::UnplugPending) state_ = DeviceLifecycle::Realized;
  unplug_expires_ms_ = 0;
}

void Device::on_unparent() {
  deleted_path_ = canonical_path();
  unrealize();
  while (!child_buses_.empty()) {
    Bus* b = child_buses_.back();
    b->unparent();  // removes itself from child_buses_
    if (!child_buses_.empty() && child_buses_.back() == b) child_buses_.pop_back();
  }
  detach_from_bus();
  state_ = DeviceLifecycle::Unparented;
}

std::function<void()> Device::after_finalize() {
  if (!was_realized_) return {};
  return [id = id_, path = deleted_path_] {
    if (DeviceEventSink* sink = qdev_event_sink()) sink->device_deleted(id, path);
  };
}

bool qdev_is_config_property(const Device& dev, const Property& p) {
  if (p.qdev) return true;
  for (const ObjectClass* c = &dev.object_class(); c; c = c->parent) {
    if (c->type_name() == kTypeDevice) return false;
    for (const Property& q : c->properties) {
      if (&q == &p) return true;
    }
  }
  return false;
}

Status Device::check_property_write(const Property& p) {
  if (realized() && !p.settable_after_realize && qdev_is_config_property(*this, p)) {
    if (id_) {
      return generic_error("Attempt to set property '" + p.name + "' on device '" + *id_ +
                           "' (type '" + type_name() + "') after it was realized");
    }
    return generic_error("Attempt to set property '" + p.name + "' on anonymous device (type '" +
                         type_name() + "') after it was realized");
  }
  return Status::Ok();
}

void Device::attach_to_bus(Bus* bus) {
  detach_from_bus();
  parent_bus_ = bus;
  bus->add_device(this);
}

void Device::detach_from_bus() {
  if (Bus* b = std::exchange(parent_bus_, nullptr)) b->remove_device(this);
}

void Device::add_child_bus(Bus* bus) {
  child_buses_.push_back(bus);
}

// --- GPIO

void Device::init_gpio_in(const std::string& name, int n, IrqLine::Handler handler) {
  auto& v = gpio_in_[name];
  int base = int(v.size());
  for (int i = 0; i < n; ++i) v.push_back(std::make_unique<IrqLine>(handler, base + i));
}

void Device::init_gpio_out(const std::string& name, int n) {
  auto& v = gpio_out_[name];
  v.resize(v.size() + size_t(n), nullptr);
}

IrqLine* Device::gpio_in(const std::string& name, int n) {
  auto it = gpio_in_.find(name);
  if (it == gpio_in_.end() || n < 0 || size_t(n) >= it->second.size()) return nullptr;
  return it->second[size_t(n)].get();
}

void Device::connect_gpio_out(const std::string& name, int n, IrqLine* target) {
  auto it = gpio_out_.find(name);
  if (it == gpio_out_.end() || n < 0 || size_t(n) >= it->second.size()) return;
  it->second[size_t(n)] = target;
}

IrqLine* Device::gpio_out(const std::string& name, int n) {
  auto it = gpio_out_.find(name);
  if (it == gpio_out_.end() || n < 0 || size_t(n) >= it->second.size()) return nullptr;
  return it->second[size_t(n)];
}

void Device::set_gpio_out(const std::string& name, int n, int level) {
  irq_set(gpio_out(name, n), level);
}

int Device::gpio_in_count(const std::string& name) const {
  auto it = gpio_in_.find(name);
  return it == gpio_in_.end() ? 0 : int(it->second.size());
}

int Device::gpio_out_count(const std::string& name) const {
  auto it = gpio_out_.find(name);
  return it == gpio_out_.end() ? 0 : int(it->second.size());
}

std::vector<std::string> Device::gpio_in_names() const {
  std::vector<std::string> out;
  for (auto& [k, v] : gpio_in_) out.push_back(k);
  return out;
}

std::vector<std::string> Device::gpio_out_names() const {
  std::vector<std::string> out;
  for (auto& [k, v] : gpio_out_) out.push_back(k);
  return out;
}

// --- Bus

Bus::~Bus() = default;

bool Bus::full() const {
  int max = bus_class().max_devices;
  return max > 0 && int(children_.size()) >= max;
}

void Bus::add_device(Device* d) {
  d->ref();
  children_.push_back(d);
}

void Bus::remove_device(Device* d) {
  auto it = std::find(children_.begin(), children_.end(), d);
  if (it == children_.end()) return;
  children_.erase(it);
  d->unref();
}

void Bus::on_unparent() {
  // As QEMU's bus_unparent: every device on the bus leaves the tree.
  while (!children_.empty()) {
    Device* d = children_.back();
    Ref<Device> keep(d);
    if (d->parent()) {
      d->unparent();
    } else {
      d->detach_from_bus();
    }
    if (!children_.empty() && children_.back() == d) d->detach_from_bus();
  }
  if (parent_) {
    // Leave the parent's list of child buses.
    auto& cb = const_cast<std::vector<Bus*>&>(parent_->child_buses());
    cb.erase(std::remove(cb.begin(), cb.end(), this), cb.end());
  }
}

Result<Bus*> qbus_new(std::string_view type, Device* parent, std::string_view name) {
  auto r = object_new(type);
  if (!r.ok()) return r.error();
  Ref<Object> obj = std::move(r.value());
  auto* bus = dynamic_cast<Bus*>(obj.get());
  if (!bus) return generic_error("'" + std::string(type) + "' is not a bus type");
  bus->set_name(std::string(name));
  bus->set_parent_device(parent);
  Object* owner = parent ? static_cast<Object*>(parent) : container_get("/machine/unattached");
  if (Status s = owner->add_child(name, bus); !s.ok()) return s.error();
  if (parent) parent->add_child_bus(bus);
  return bus;
}

Status qdev_set_id(Device& dev, std::optional<std::string> id) {
  if (id) {
    if (!id_wellformed(*id)) return generic_error("Parameter 'id' expects an identifier");
    Object* peripheral = container_get("/machine/peripheral");
    if (peripheral->child(*id)) return generic_error("Duplicate device ID '" + *id + "'");
    if (Status s = peripheral->add_child(*id, &dev); !s.ok()) return s;
    dev.set_id(std::move(id));
    return Status::Ok();
  }
  static int anon_count = 0;
  return container_get("/machine/peripheral-anon")
      ->add_child("device[" + std::to_string(anon_count++) + "]", &dev);
}

void qdev_reset_all(Bus& root) {
  for (Device* d : std::vector<Device*>(root.devices())) d->reset_tree();
}

}  // namespace machina
