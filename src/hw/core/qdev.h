// qdev: devices on buses, with an explicit lifecycle:
//   Created -> Realized -> [UnplugPending] -> Unrealized -> Unparented -> (finalized)
// DEVICE_DELETED is sent once the device has been finalized (its last reference dropped and every
// host resource it held released), exactly once, and only if it had been realized.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hw/core/backend-claim.h"
#include "hw/core/irq.h"
#include "qom/object.h"

namespace machina {

class Bus;
class HotplugHandler;

inline constexpr const char* kTypeDevice = "device";
inline constexpr const char* kTypeBus = "bus";

enum class DeviceLifecycle { Created, Realized, UnplugPending, Unrealized, Unparented };
const char* lifecycle_name(DeviceLifecycle s);

class DeviceClass : public ObjectClass {
 public:
  MACHINA_CLASS_CLONE(DeviceClass)
  bool user_creatable = true;  // may be created with -device / device_add
  bool hotpluggable = true;    // may be added or removed while the machine runs
  std::string bus_type;        // the bus type it plugs into; empty: none
  std::string category;        // -device help groups: "Storage devices", "Network devices", ...
};

class Device : public Object {
 public:
  Device();
  ~Device() override;

  const DeviceClass& device_class() const {
    return static_cast<const DeviceClass&>(object_class());
  }
  const std::optional<std::string>& id() const { return id_; }
  DeviceLifecycle lifecycle() const { return state_; }
  bool realized() const {
    return state_ == DeviceLifecycle::Realized || state_ == DeviceLifecycle::UnplugPending;
  }
  bool hotplugged() const { return hotplugged_; }
  Bus* parent_bus() const { return parent_bus_; }
  const std::vector<Bus*>& child_buses() const { return child_buses_; }

  // Realize / unrealize (also reachable as the "realized" property).
  Status realize();
  void unrealize();
  // Cold reset of this device after its child buses' devices.
  void reset_tree();

  // Unplug bookkeeping (used by qdev-monitor and hotplug controllers).
  void set_unplug_pending(int64_t expires_ms);
  void clear_unplug_pending();
  bool unplug_pending() const { return state_ == DeviceLifecycle::UnplugPending; }
  int64_t unplug_expires_ms() const { return unplug_expires_ms_; }

  // --- GPIO lines. Inputs belong to the device; outputs are pointers set by connect_gpio_out.
  void init_gpio_in(const std::string& name, int n, IrqLine::Handler handler);
  void init_gpio_out(const std::string& name, int n);
  IrqLine* gpio_in(const std::string& name, int n);
  // Connects output `n` of list `name` to an input line (nullptr disconnects).
  void connect_gpio_out(const std::string& name, int n, IrqLine* target);
  IrqLine* gpio_out(const std::string& name, int n);  // what output n drives
  void set_gpio_out(const std::string& name, int n, int level);
  int gpio_in_count(const std::string& name) const;
  int gpio_out_count(const std::string& name) const;
  std::vector<std::string> gpio_in_names() const;
  std::vector<std::string> gpio_out_names() const;

  // Backend claims held until finalize.
  void hold_claim(BackendClaim claim) { claims_.push_back(std::move(claim)); }

  // Internal to qdev: set by qdev_set_id / bus plugging.
  void set_id(std::optional<std::string> id) { id_ = std::move(id); }
  void set_hotplugged(bool h) { hotplugged_ = h; }
  void attach_to_bus(Bus* bus);
  void detach_from_bus();
  void add_child_bus(Bus* bus);

 protected:
  virtual Status do_realize() { return Status::Ok(); }
  virtual void do_unrealize() {}
  virtual void do_reset() {}

  void post_init() override;
  void on_unparent() override;
  std::function<void()> after_finalize() override;
  Status check_property_write(const Property& p) override;

 private:
  std::optional<std::string> id_;
  DeviceLifecycle state_ = DeviceLifecycle::Created;
  bool was_realized_ = false;
  bool hotplugged_ = false;
  int64_t unplug_expires_ms_ = 0;
  std::string deleted_path_;  // canonical path, saved while still in the tree
  Bus* parent_bus_ = nullptr;
  std::vector<Bus*> child_buses_;  // children in the QOM tree too
  std::map<std::string, std::vector<std::unique_ptr<IrqLine>>> gpio_in_;
  std::map<std::string, std::vector<IrqLine*>> gpio_out_;
  std::vector<BackendClaim> claims_;
};

class BusClass : public ObjectClass {
 public:
  MACHINA_CLASS_CLONE(BusClass)
  int max_devices = 0;  // 0: unlimited
};

class Bus : public Object {
 public:
  ~Bus() override;
  const BusClass& bus_class() const { return static_cast<const BusClass&>(object_class()); }
  const std::string& name() const { return name_; }
  Device* parent_device() const { return parent_; }
  // The devices on this bus, in the order they were plugged.
  const std::vector<Device*>& devices() const { return children_; }
  bool full() const;

  HotplugHandler* hotplug_handler() const { return hotplug_handler_; }
  void set_hotplug_handler(HotplugHandler* h) { hotplug_handler_ = h; }
  // Whether devices may be added/removed while the machine runs.
  virtual bool hotplug_allowed() const;
  // Bus-specific checks and address assignment before a device is realized on this bus.
  virtual Status check_device(Device&) { return Status::Ok(); }
  // Text for `info qtree`, per device ("addr = 01.0").
  virtual std::string device_address(const Device&) const { return ""; }

  // Internal to qdev.
  void set_name(std::string n) { name_ = std::move(n); }
  void set_parent_device(Device* d) { parent_ = d; }
  void add_device(Device* d);
  void remove_device(Device* d);

 protected:
  void on_unparent() override;

 private:
  std::string name_;
  Device* parent_ = nullptr;
  std::vector<Device*> children_;  // each holds a reference
  HotplugHandler* hotplug_handler_ = nullptr;
};

// Whether `p` is one of the device's own configuration properties: declared by its class or a
// parent class below "device" (or marked qdev), as opposed to the generic device properties and
// instance properties such as children.
bool qdev_is_config_property(const Device& dev, const Property& p);

// Creates a bus of `type` named `name` as a child of `parent` (nullptr: under
// /machine/unattached). Returns it (owned by the tree).
Result<Bus*> qbus_new(std::string_view type, Device* parent, std::string_view name);

// The hotplug handler in charge of `dev`: the machine's (if it claims the device), else its bus's.
HotplugHandler* qdev_get_hotplug_handler(Device& dev);
// The machine's hook for claiming devices (set by the machine type).
void qdev_set_machine_hotplug_router(std::function<HotplugHandler*(Device&)> router);

// qdev_set_id: puts the device in the tree: /machine/peripheral/ID, or
// /machine/peripheral-anon/device[N] without an id. Fails for a duplicate id.
Status qdev_set_id(Device& dev, std::optional<std::string> id);

// -global DRIVER.PROPERTY=VALUE: applied to every device of that type (or a subtype) when it is
// created, after the declared defaults.
struct GlobalProperty {
  std::string driver, property, value;
};
void qdev_add_global_property(GlobalProperty g);
void qdev_clear_global_properties();
// Checks the globals against the registered types; the first problem as QEMU words it.
Status qdev_check_global_properties();

// Cold reset of every device, walking from the given buses.
void qdev_reset_all(Bus& root);

}  // namespace machina
