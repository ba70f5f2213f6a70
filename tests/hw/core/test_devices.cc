#include "test_devices.h"

#include "qom/property-types.h"

namespace machina::test {

Status FdDevice::do_realize() {
  if (fail_realize) return generic_error("realize failed on purpose");
  if (!file.empty()) {
    fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return generic_error("cannot open " + file);
  }
  if (claim_backend && current_backend()) {
    auto c = current_backend()->claim(id() ? "device '" + *id() + "'" : "a device");
    if (!c.ok()) return c.error();
    hold_claim(std::move(c.value()));
  }
  return Status::Ok();
}

namespace {

class TestBus : public Bus {};

TypeRegistration test_bus{
    TypeInfo{.name = "test-bus", .parent = kTypeBus, .instance_new = [] { return new TestBus(); }}};

TypeRegistration one_slot_bus{
    TypeInfo{.name = "test-one-slot-bus",
             .parent = "test-bus",
             .instance_new = [] { return new TestBus(); },
             .class_init = [](ObjectClass& c) { static_cast<BusClass&>(c).max_devices = 1; }}};

TypeRegistration fd_device{TypeInfo{
    .name = "test-fd-device",
    .parent = kTypeDevice,
    .instance_new = [] { return new FdDevice(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.bus_type = "test-bus";
          dc.category = "Misc devices";
          auto file = prop::string<FdDevice>("file", &FdDevice::file);
          file.qdev = true;
          dc.add_property(file);
          auto fail = prop::boolean<FdDevice>("fail-realize", &FdDevice::fail_realize, false);
          fail.qdev = true;
          dc.add_property(fail);
          auto claim = prop::boolean<FdDevice>("claim", &FdDevice::claim_backend, false);
          claim.qdev = true;
          dc.add_property(claim);
        },
}};

// A device with a bus of its own, like a bridge or a virtio proxy.
class BridgeDevice : public FdDevice, public HotplugHandler {
 public:
  BridgeDevice() = default;

 protected:
  Status do_realize() override {
    if (child_buses().empty()) {
      auto b = qbus_new("test-bus", this, (id() ? *id() : std::string("bridge")) + ".0");
      if (!b.ok()) return b.error();
      b.value()->set_hotplug_handler(this);  // synchronous removal of its devices
    }
    return FdDevice::do_realize();
  }
};

TypeRegistration bridge_device{TypeInfo{
    .name = "test-bridge",
    .parent = "test-fd-device",
    .interfaces = {kTypeHotplugHandler},
    .instance_new = [] { return new BridgeDevice(); },
}};

TypeRegistration fixed_device{TypeInfo{
    .name = "test-fixed-device",
    .parent = "test-fd-device",
    .instance_new = [] { return new FdDevice(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.hotpluggable = false;
        },
}};

TypeRegistration internal_device{TypeInfo{
    .name = "test-internal-device",
    .parent = "test-fd-device",
    .instance_new = [] { return new FdDevice(); },
    .class_init = [](ObjectClass& c) { static_cast<DeviceClass&>(c).user_creatable = false; }}};

}  // namespace
}  // namespace machina::test
