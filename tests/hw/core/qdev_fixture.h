#pragma once

#include <gtest/gtest.h>

#include "hw/core/qdev-monitor.h"
#include "test_devices.h"

namespace machina::test {

class QdevTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_sink_ = qdev_set_event_sink(&sink);
    auto b = qbus_new("test-bus", nullptr, "tbus.0");
    ASSERT_TRUE(b.ok()) << b.message();
    bus = b.value();
    bus->set_hotplug_handler(&controller);
    qdev_set_machine_running(true);
  }
  void TearDown() override {
    for (const char* c :
         {"/machine/peripheral", "/machine/peripheral-anon", "/machine/unattached"}) {
      // One at a time: removing a bridge also removes the devices on its bus.
      while (!container_get(c)->children().empty()) container_get(c)->children().back()->unparent();
    }
    qdev_set_machine_running(false);
    qdev_clear_global_properties();
    qdev_set_event_sink(previous_sink_);
    current_backend() = nullptr;
  }
  Result<Device*> add(std::string driver, std::optional<std::string> id,
                      std::vector<std::pair<std::string, json>> props = {},
                      std::optional<std::string> bus_name = std::nullopt) {
    DeviceOptions o;
    o.driver = std::move(driver);
    o.id = std::move(id);
    o.bus = std::move(bus_name);
    o.props = std::move(props);
    return qdev_device_add(o);
  }
  std::string temp_file(const char* tag) {
    std::string dir = ::testing::TempDir();
    if (!dir.ends_with("/")) dir += "/";
    return dir + "machina-qdev-" + tag + "-" + std::to_string(::getpid());
  }

  RecordingSink sink;
  TestController controller;
  Bus* bus = nullptr;

 private:
  DeviceEventSink* previous_sink_ = nullptr;
};

// True if this process has `path` open.
bool process_has_open(const std::string& path);

}  // namespace machina::test
