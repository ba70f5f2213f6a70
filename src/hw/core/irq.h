// IRQ/GPIO lines (QEMU's qemu_irq): an input pin with a handler; outputs drive input pins.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

namespace machina {

class IrqLine {
 public:
  using Handler = std::function<void(int n, int level)>;
  IrqLine() = default;
  IrqLine(Handler h, int n) : handler_(std::move(h)), n_(n) {}

  // Sets the level and calls the handler (or the interceptor, when one is installed).
  void set(int level);
  void raise() { set(1); }
  void lower() { set(0); }
  void pulse() {
    set(1);
    set(0);
  }
  int level() const { return level_.load(std::memory_order_relaxed); }
  int index() const { return n_; }

  // qtest: replaces the handler; the original can still be reached with deliver().
  void intercept(Handler h) { interceptor_ = std::move(h); }
  bool intercepted() const { return static_cast<bool>(interceptor_); }
  void deliver(int level) {
    if (handler_) handler_(n_, level);
  }

 private:
  Handler handler_;
  Handler interceptor_;
  int n_ = 0;
  std::atomic<int> level_{0};
};

// Sets a line that may be unconnected.
inline void irq_set(IrqLine* line, int level) {
  if (line) line->set(level);
}

}  // namespace machina
