// Devices, buses and a hotplug controller for the qdev tests.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hw/core/hotplug.h"
#include "hw/core/qdev-events.h"
#include "hw/core/qdev.h"

namespace machina::test {

// Records events; checks run at the moment each event arrives.
class RecordingSink : public DeviceEventSink {
 public:
  struct Event {
    std::optional<std::string> id;
    std::string path;
  };
  std::function<void(const Event&)> on_event;
  std::vector<Event> deleted;
  std::vector<Event> guest_errors;
  void device_deleted(const std::optional<std::string>& id, const std::string& path) override {
    std::lock_guard lock(mu);
    deleted.push_back({id, path});
    if (on_event) on_event(deleted.back());
  }
  void device_unplug_guest_error(const std::optional<std::string>& id,
                                 const std::string& path) override {
    std::lock_guard lock(mu);
    guest_errors.push_back({id, path});
  }
  int count_for(const std::string& path) {
    int n = 0;
    for (auto& e : deleted) n += e.path == path;
    return n;
  }
  std::mutex mu;
};

// A backend that devices claim: a "block node".
class TestBackend : public Claimable {
 public:
  explicit TestBackend(std::string name) : name_(std::move(name)) {}
  Status del() { return check_deletable(); }

 protected:
  Error busy_error(const std::string& holder) const override {
    return generic_error("Node '" + name_ + "' is busy: in use by " + holder);
  }

 private:
  std::string name_;
};

inline TestBackend*& current_backend() {
  static TestBackend* b = nullptr;
  return b;
}

// A device holding a host file descriptor, optionally a backend claim, and optionally a bus.
class FdDevice : public Device {
 public:
  ~FdDevice() override {
    if (fd >= 0) ::close(fd);
  }
  std::string file;
  bool fail_realize = false;
  bool claim_backend = false;
  int fd = -1;
  int resets = 0;
  std::vector<std::string>* reset_log = nullptr;

 protected:
  Status do_realize() override;
  void do_reset() override {
    ++resets;
    if (reset_log) reset_log->push_back(id() ? *id() : name_in_parent());
  }
};

// A controller that asks the guest first; the test plays the guest.
class TestController : public HotplugHandler {
 public:
  bool cooperative = false;
  int plugs = 0;
  std::vector<Device*> pending;
  Status plug(Device&) override {
    ++plugs;
    return Status::Ok();
  }
  Status unplug_request(Device& dev, bool* asynchronous) override {
    if (!cooperative) {
      *asynchronous = false;
      return Status::Ok();
    }
    *asynchronous = true;
    dev.set_unplug_pending(expiry_ms);
    pending.push_back(&dev);
    return Status::Ok();
  }
  int64_t expiry_ms = 0;
  // The guest agrees: eject.
  void guest_ejects(Device& dev) {
    std::erase(pending, &dev);
    (void)unplug(dev);
  }
};

}  // namespace machina::test
