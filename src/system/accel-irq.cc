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

namespace {
std::function<void(unsigned, int)>& gsi_handler() {
  static auto* fn = new std::function<void(unsigned, int)>;
  return *fn;
}
}  // namespace

void accel_set_gsi_handler(std::function<void(unsigned gsi, int level)> fn) {
  gsi_handler() = std::move(fn);
}

void accel_set_gsi(unsigned gsi, int level) {
  if (auto& fn = gsi_handler()) fn(gsi, level);
}

namespace {
std::function<void(uint8_t, uint8_t)>& elcr_handler() {
  static auto* fn = new std::function<void(uint8_t, uint8_t)>;
  return *fn;
}
}  // namespace

void accel_set_elcr_handler(std::function<void(uint8_t master, uint8_t slave)> fn) {
  elcr_handler() = std::move(fn);
}

bool accel_set_elcr(uint8_t master, uint8_t slave) {
  auto& fn = elcr_handler();
  if (!fn) return false;
  fn(master, slave);
  return true;
}

}  // namespace machina
