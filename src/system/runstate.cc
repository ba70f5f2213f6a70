#include "system/runstate.h"

#include <atomic>
#include <mutex>

#include "hw/core/qdev.h"
#include "hw/core/sysbus.h"
#include "monitor/monitor.h"
#include "util/main-loop.h"
#include "util/qemu-timer.h"

namespace machina {

namespace {
RunState g_state = RunState::Prelaunch;
std::atomic<bool> g_shutdown{false};
std::mutex g_reason_mu;
std::string g_reason;
bool g_reason_guest = false;
std::string g_name;
}  // namespace

const char* runstate_name(RunState s) {
  switch (s) {
    case RunState::Prelaunch:
      return "prelaunch";
    case RunState::Running:
      return "running";
    case RunState::Paused:
      return "paused";
    case RunState::Shutdown:
      return "shutdown";
  }
  return "running";
}

RunState runstate() {
  return g_state;
}
bool runstate_is_running() {
  return g_state == RunState::Running;
}

void vm_stop() {
  if (g_state != RunState::Running) return;
  g_state = RunState::Paused;
  if (virtual_clock_mode() == VirtualClockMode::Running) virtual_clock_pause();
  monitor_event("STOP");
}

void vm_start() {
  if (g_state == RunState::Running) return;
  g_state = RunState::Running;
  if (virtual_clock_mode() == VirtualClockMode::Running) virtual_clock_resume();
  monitor_event("RESUME");
}

void qemu_system_shutdown_request(const std::string& reason, bool guest) {
  {
    std::lock_guard lock(g_reason_mu);
    g_reason = reason;
    g_reason_guest = guest;
  }
  g_shutdown = true;
  main_loop().wake();
}

bool shutdown_requested() {
  return g_shutdown.load();
}

bool handle_shutdown_request() {
  if (!g_shutdown.exchange(false)) return false;
  std::string reason;
  bool guest;
  {
    std::lock_guard lock(g_reason_mu);
    reason = g_reason;
    guest = g_reason_guest;
  }
  monitor_event("SHUTDOWN", json{{"guest", guest}, {"reason", reason}});
  g_state = RunState::Shutdown;
  return true;
}

void qemu_system_reset(const std::string& reason, bool guest) {
  qdev_reset_all(*sysbus_get_default());
  monitor_event("RESET", json{{"guest", guest}, {"reason", reason}});
}

void set_guest_name(std::string name) {
  g_name = std::move(name);
}
const std::string& guest_name() {
  return g_name;
}

}  // namespace machina
