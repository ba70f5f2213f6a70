// The VM's run state (QEMU's RunState) and the requests that change it: stop/cont, reset,
// shutdown. Events go to the monitors through monitor_event().
#pragma once

#include <string>

namespace machina {

enum class RunState { Prelaunch, Running, Paused, Shutdown };
const char* runstate_name(RunState s);

RunState runstate();
bool runstate_is_running();

// stop / cont (QMP): STOP and RESUME events; the virtual clock follows unless qtest drives it.
void vm_stop();
void vm_start();

// Asks the main loop to shut down; `reason` as QEMU's ShutdownCause ("host-signal",
// "host-qmp-quit", "guest-shutdown", ...). Thread-safe.
void qemu_system_shutdown_request(const std::string& reason, bool guest = false);
bool shutdown_requested();
// Runs on the main loop after the request: SHUTDOWN event. Returns true if the process should exit.
bool handle_shutdown_request();

// system_reset: cold reset of every device, RESET event.
void qemu_system_reset(const std::string& reason, bool guest = false);

// -name
void set_guest_name(std::string name);
const std::string& guest_name();

}  // namespace machina
