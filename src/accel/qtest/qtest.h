// The qtest accelerator: no vCPU runs; a test program drives devices through the qtest text
// protocol (spec/qtest.md section 4) and moves the virtual clock explicitly.
#pragma once

#include <optional>
#include <string>

#include "chardev/char.h"
#include "qapi/error.h"

namespace machina {

// Starts serving the qtest protocol on `chr` (already created and connected by the caller).
// log_path: -qtest-log FILE (may be "/dev/null" or "/dev/fd/2"; "none" means no log); nullopt for
// none. Error if a server is already running, the chardev is in use or the log cannot be opened.
Status qtest_server_init(Chardev* chr, const std::optional<std::string>& log_path);
// The qtest accelerator is the active one (set by the lead via qtest_set_enabled).
bool qtest_enabled();
// When true: clock_step/clock_set allowed, virtual clock in manual mode.
void qtest_set_enabled(bool on);
// Detaches from the chardev and closes the log (writing CLOSED if the connection was open).
void qtest_server_shutdown();

}  // namespace machina
