// The accelerator's MSI routing hooks: see accel-irq.h.
#include "system/accel-irq.h"

#include <atomic>

namespace machina {

namespace {
std::atomic<AccelMsiRouting*> g_routing{nullptr};
}  // namespace

AccelMsiRouting* accel_msi_routing() {
  return g_routing.load(std::memory_order_acquire);
}

void accel_set_msi_routing(AccelMsiRouting* routing) {
  g_routing.store(routing, std::memory_order_release);
}

}  // namespace machina
