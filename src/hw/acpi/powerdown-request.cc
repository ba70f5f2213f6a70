// system_powerdown: POWERDOWN event and the powerdown listeners. See powerdown-request.h.
#include "hw/acpi/powerdown-request.h"

#include <map>

#include "monitor/monitor.h"

namespace machina {

namespace {

struct Notifiers {
  int next = 1;
  std::map<int, std::function<void()>> fns;
};

Notifiers& notifiers() {
  static auto* n = new Notifiers;
  return *n;
}

}  // namespace

void qemu_system_powerdown_request() {
  monitor_event("POWERDOWN");
  // Copy: a listener may unregister itself.
  std::map<int, std::function<void()>> fns = notifiers().fns;
  for (auto& [handle, fn] : fns) fn();
}

int powerdown_notifier_add(std::function<void()> fn) {
  int h = notifiers().next++;
  notifiers().fns.emplace(h, std::move(fn));
  return h;
}

void powerdown_notifier_remove(int handle) {
  notifiers().fns.erase(handle);
}

}  // namespace machina
