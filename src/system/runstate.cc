#include "system/runstate.h"

#include <atomic>
#include <functional>
#include <mutex>
#include <vector>

#include "hw/core/qdev.h"
#include "hw/core/sysbus.h"
#include "monitor/monitor.h"
#include "system/cpus.h"
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
    case RunState::IoError:
      return "io-error";
    case RunState::InternalError:
      return "internal-error";
  }
  return "running";
}

RunState runstate() {
  return g_state;
}
bool runstate_is_running() {
  return g_state == RunState::Running;
}

namespace {
std::vector<std::pair<int, std::function<void(bool, RunState)>>>& vm_change_handlers() {
  static auto* v = new std::vector<std::pair<int, std::function<void(bool, RunState)>>>;
  return *v;
}
int g_next_vm_change_id = 1;

void notify_vm_change(bool running, RunState state) {
  // Copied: a handler may add or remove handlers.
  auto handlers = vm_change_handlers();
  for (auto& [id, fn] : handlers) fn(running, state);
}
}  // namespace

int add_vm_change_state_handler(std::function<void(bool running, RunState state)> fn) {
  int id = g_next_vm_change_id++;
  vm_change_handlers().emplace_back(id, std::move(fn));
  return id;
}

void remove_vm_change_state_handler(int id) {
  auto& v = vm_change_handlers();
  std::erase_if(v, [id](const auto& e) { return e.first == id; });
}

void vm_stop(RunState reason) {
  if (g_state != RunState::Running) return;
  g_state =
      reason == RunState::IoError || reason == RunState::InternalError ? reason : RunState::Paused;
  cpus_pause_all();
  if (virtual_clock_mode() == VirtualClockMode::Running) virtual_clock_pause();
  monitor_event("STOP");
  notify_vm_change(false, g_state);
}

void vm_start() {
  if (g_state == RunState::Running) return;
  g_state = RunState::Running;
  if (virtual_clock_mode() == VirtualClockMode::Running) virtual_clock_resume();
  cpus_resume_all();
  monitor_event("RESUME");
  notify_vm_change(true, g_state);
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

namespace {
std::vector<std::function<void()>>& reset_handlers() {
  static auto* v = new std::vector<std::function<void()>>;
  return *v;
}
std::atomic<bool> g_no_reboot{false};
}  // namespace

void qemu_register_reset(std::function<void()> fn) {
  reset_handlers().push_back(std::move(fn));
}

void qemu_system_reset(const std::string& reason, bool guest) {
  bool running = g_state == RunState::Running;
  if (running) cpus_pause_all();
  qdev_reset_all(*sysbus_get_default());
  for (auto& fn : reset_handlers()) fn();
  monitor_event("RESET", json{{"guest", guest}, {"reason", reason}});
  if (running) cpus_resume_all();
}

void set_no_reboot(bool on) {
  g_no_reboot = on;
}

void qemu_system_reset_request(const std::string& reason) {
  if (g_no_reboot) {
    qemu_system_shutdown_request(reason, true);
    return;
  }
  run_on_main_loop([reason] { qemu_system_reset(reason, true); });
}

void set_guest_name(std::string name) {
  g_name = std::move(name);
}
const std::string& guest_name() {
  return g_name;
}

}  // namespace machina
