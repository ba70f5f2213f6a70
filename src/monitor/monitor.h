// Monitors on chardevs: QMP (mode=control) and the human monitor (mode=readline), and the event
// broadcast every QMP monitor in command mode receives.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chardev/char-fe.h"
#include "monitor/qmp-session.h"

namespace machina {

class Monitor {
 public:
  virtual ~Monitor() = default;
  virtual bool is_qmp() const = 0;

  // Named file descriptors received with getfd.
  std::map<std::string, int> fds;
  // Descriptors that arrived with the last input (SCM_RIGHTS).
  std::vector<int> received_fds;
  // HMP: the CPU index of the CPU that commands without one use (`cpu N`).
  int hmp_cpu_index = 0;
};

// Starts a monitor on an existing chardev. `control`: QMP; else HMP.
Status monitor_init(Chardev* chr, bool control, bool pretty);
// Sends an event to every QMP monitor in command mode. Thread-safe: from other threads the event
// is handed to the main loop.
void monitor_event(std::string_view name, std::optional<json> data = std::nullopt);
// Writes queued output out as far as possible (at exit).
void monitor_flush_all();
void monitor_cleanup();
// The monitor whose command is running (nullptr outside commands).
Monitor* current_monitor();
// The package string of the greeting and query-version ("machina X.Y.Z").
std::string monitor_package();

// Runs an HMP command line (human-monitor-command and the readline monitor); returns its output
// with "\r\n" line ends, or an error. `cpu_index`: the monitor's current CPU (`cpu N` sets it).
Result<std::string> hmp_execute(const std::string& line, int& cpu_index);

}  // namespace machina
