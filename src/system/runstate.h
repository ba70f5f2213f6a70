// The VM's run state (QEMU's RunState) and the requests that change it: stop/cont, reset,
// shutdown. Events go to the monitors through monitor_event().
#pragma once

#include <functional>
#include <string>

namespace machina {

enum class RunState { Prelaunch, Running, Paused, Shutdown, IoError, InternalError };
const char* runstate_name(RunState s);

RunState runstate();
bool runstate_is_running();

// stop / cont (QMP): STOP and RESUME events; the virtual clock follows unless qtest drives it.
// `reason` is the state entered: Paused, or IoError (a block device's werror/rerror=stop policy,
// shown by query-status as "io-error"), or InternalError (the accelerator cannot run the
// guest any further: "internal-error").
void vm_stop(RunState reason = RunState::Paused);
void vm_start();

// QEMU's qemu_add_vm_change_state_handler: called (on the main loop) after the VM starts running
// (running=true) or stops (running=false, with the new state). Returns an id for removal.
int add_vm_change_state_handler(std::function<void(bool running, RunState state)> fn);
void remove_vm_change_state_handler(int id);

// Asks the main loop to shut down; `reason` as QEMU's ShutdownCause ("host-signal",
// "host-qmp-quit", "guest-shutdown", ...). Thread-safe.
void qemu_system_shutdown_request(const std::string& reason, bool guest = false);
bool shutdown_requested();
// Runs on the main loop after the request: SHUTDOWN event. Returns true if the process should exit.
bool handle_shutdown_request();

// system_reset: cold reset of every device and of the handlers registered with
// qemu_register_reset (CPUs, boot state), with the vCPUs stopped meanwhile; RESET event.
void qemu_system_reset(const std::string& reason, bool guest = false);
void qemu_register_reset(std::function<void()> fn);
// A reset asked for by the guest (reset register, 8042, triple fault): runs on the main loop;
// with -no-reboot it is a shutdown instead. Thread-safe. `reason` as QEMU's ShutdownCause
// ("guest-reset").
void qemu_system_reset_request(const std::string& reason = "guest-reset");
void set_no_reboot(bool on);

// -name
void set_guest_name(std::string name);
const std::string& guest_name();

}  // namespace machina
