// Where qdev sends its management events. The QMP server plugs a sink in; tests plug in a
// recorder. Events may be raised on any thread (the last reference to a device can be dropped by
// an I/O completion): the sink must be thread-safe.
#pragma once

#include <optional>
#include <string>

namespace machina {

class DeviceEventSink {
 public:
  virtual ~DeviceEventSink() = default;
  // DEVICE_DELETED: `id` is absent for devices without one (e.g. a virtio backend child).
  virtual void device_deleted(const std::optional<std::string>& id, const std::string& path) = 0;
  // DEVICE_UNPLUG_GUEST_ERROR.
  virtual void device_unplug_guest_error(const std::optional<std::string>& id,
                                         const std::string& path) = 0;
};

// Installs the process-wide sink (nullptr: events are dropped). Returns the previous one.
DeviceEventSink* qdev_set_event_sink(DeviceEventSink* sink);
DeviceEventSink* qdev_event_sink();

}  // namespace machina
