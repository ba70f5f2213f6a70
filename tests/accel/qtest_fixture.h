// Fixture for the qtest protocol engine: a session whose output is captured, guest RAM mapped at
// kRamBase, the qtest accelerator enabled (manual virtual clock starting at 0).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "accel/qtest/qtest-session.h"
#include "accel/qtest/qtest.h"
#include "hw/core/qdev-monitor.h"
#include "system/memory.h"
#include "util/qemu-timer.h"

namespace machina::test {

class QtestSessionTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kRamBase = 0x100000;
  static constexpr uint64_t kRamSize = 0x10000;

  void SetUp() override {
    virtual_clock_reset_for_test();
    qtest_set_enabled(true);
    ASSERT_TRUE(ram_.init_ram(nullptr, "qtest-test-ram", kRamSize).ok());
    ASSERT_TRUE(get_system_memory()->add_subregion(kRamBase, &ram_).ok());
    session = make_session(nullptr);
    session->opened();
  }

  void TearDown() override {
    session.reset();
    for (const char* c : {"/machine/peripheral", "/machine/peripheral-anon"}) {
      for (Object* o : container_get(c)->children()) o->unparent();
    }
    (void)get_system_memory()->del_subregion(&ram_);
    qtest_set_enabled(false);
  }

  std::unique_ptr<QtestSession> make_session(std::unique_ptr<QtestLog> log) {
    return std::make_unique<QtestSession>([this](std::string_view s) { out.append(s); },
                                          std::move(log));
  }

  // Sends one command; returns everything the session wrote in response.
  std::string cmd(const std::string& line) {
    out.clear();
    session->feed(line + "\n");
    return out;
  }

  Device* add_device(const std::string& driver, const std::string& id,
                     std::vector<std::pair<std::string, json>> props = {}) {
    DeviceOptions o;
    o.driver = driver;
    o.id = id;
    o.props = std::move(props);
    auto r = qdev_device_add(o);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? r.value() : nullptr;
  }

  std::unique_ptr<QtestSession> session;
  std::string out;

 private:
  MemoryRegion ram_;
};

}  // namespace machina::test
