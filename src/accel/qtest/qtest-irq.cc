// qtest's GPIO commands: irq_intercept_in / irq_intercept_out and set_irq_in.
//
// As QEMU 7.2, only the device's unnamed GPIO lists are intercepted, and one device at most per
// session. Intercepted inputs stop reaching the device; intercepted outputs are reconnected to
// lines owned by qtest (their previous targets no longer see them).
#include <deque>
#include <memory>

#include "accel/qtest/qtest-relay.h"
#include "hw/core/qdev.h"
#include "util/cutils.h"
#include "util/main-loop.h"

namespace machina {

namespace {

// Lines that intercepted outputs drive. A device may keep pointing at them after the session is
// gone, so they live as long as the process (one set per intercepted device: bounded).
std::deque<std::unique_ptr<IrqLine>>& out_line_pool() {
  static auto* pool = new std::deque<std::unique_ptr<IrqLine>>;
  return *pool;
}

Device* resolve_device(std::string_view path) {
  return dynamic_cast<Device*>(object_resolve_path(path));
}

}  // namespace

void QtestSession::Relay::level(int n, int level) {
  if (!main_loop().in_loop_thread()) {
    // A device thread changed the line: report it from the loop, in order with the replies.
    run_on_main_loop([self = shared_from_this(), n, level] { self->level(n, level); });
    return;
  }
  if (session) session->irq_level(n, level);
}

void QtestSession::cmd_irq_intercept(const Words& w, bool out) {
  if (!need_args(w, 1)) return;
  Device* dev = resolve_device(w[1]);
  if (!dev) return fail("Unknown device");
  if (intercept_dev_) {
    if (intercept_dev_ != dev) return fail("IRQ intercept already enabled");
    return reply("OK");
  }
  std::shared_ptr<Relay> relay = relay_;
  auto handler = [relay](int n, int level) { relay->level(n, level); };
  if (out) {
    int count = dev->gpio_out_count("");
    for (int i = 0; i < count; ++i) {
      auto& pool = out_line_pool();
      pool.push_back(std::make_unique<IrqLine>(handler, i));
      dev->connect_gpio_out("", i, pool.back().get());
    }
  } else {
    int count = dev->gpio_in_count("");
    for (int i = 0; i < count; ++i) dev->gpio_in("", i)->intercept(handler);
  }
  intercept_dev_ = dev;
  reply("OK");
}

void QtestSession::cmd_set_irq_in(const Words& w) {
  if (!need_args(w, 4)) return;
  Device* dev = resolve_device(w[1]);
  if (!dev) return fail("Unknown device");
  std::string name = w[2] == "unnamed-gpio-in" ? std::string() : std::string(w[2]);
  int64_t n, level;
  if (!arg_i64(w, 3, &n) || !arg_i64(w, 4, &level)) return;
  if (level < INT32_MIN || level > INT32_MAX) return fail("invalid level " + std::string(w[4]));
  IrqLine* line = (n < 0 || n > INT32_MAX) ? nullptr : dev->gpio_in(name, int(n));
  if (!line) {
    return fail("no GPIO input " + std::string(w[2]) + "[" + std::string(w[3]) + "] on device");
  }
  line->set(int(level));
  reply("OK");
}

}  // namespace machina
