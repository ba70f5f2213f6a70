// system_powerdown (QEMU's qemu_system_powerdown_request and its powerdown notifiers): the
// management side presses the power button. Sends the POWERDOWN event, then tells every listener
// (the ACPI PM block sets PWRBTN_STS and raises the SCI). Run with the big lock held.
//
// This belongs to the run-state code (system/runstate); it lives here until it moves there.
#pragma once

#include <functional>

namespace machina {

void qemu_system_powerdown_request();

// Listeners, called in registration order. Returns a handle for removal.
int powerdown_notifier_add(std::function<void()> fn);
void powerdown_notifier_remove(int handle);

}  // namespace machina
