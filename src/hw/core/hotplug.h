// The hotplug handler interface (QEMU's TYPE_HOTPLUG_HANDLER), implemented by whoever controls a
// bus: the machine, a bridge, a root port.
#pragma once

#include "qapi/error.h"

namespace machina {

class Bus;
class Device;

class HotplugHandler {
 public:
  virtual ~HotplugHandler() = default;
  // Before the device is realized: may refuse (slot occupied, no hotplug on this port...).
  virtual Status pre_plug(Device&) { return Status::Ok(); }
  // After the device is realized: tell the guest (presence detect, ACPI notify...).
  virtual Status plug(Device&) { return Status::Ok(); }
  // device_del: asks for removal. Returns true in *asynchronous when the guest's cooperation is
  // needed (the removal completes later through unplug()); false when unplug() must run now.
  virtual Status unplug_request(Device&, bool* asynchronous) {
    *asynchronous = false;
    return Status::Ok();
  }
  // The removal itself: unrealizes and unparents the device.
  virtual Status unplug(Device& dev);
  // Whether `bus` (one this handler controls) takes devices while the machine runs (QEMU's
  // is_hotpluggable_bus): a port with hotplug=off keeps its handler for cold-plugged devices.
  virtual bool hotpluggable_bus(const Bus&) const { return true; }
};

// The QOM interface type name.
inline constexpr const char* kTypeHotplugHandler = "hotplug-handler";

}  // namespace machina
