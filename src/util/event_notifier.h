// EventNotifier (QEMU's util/event_notifier-posix.c): an eventfd one side sets and the other
// waits on. An accelerator can signal it without the VMM (KVM's ioeventfd writes it when the
// guest kicks a device; KVM's irqfd reads it to inject an interrupt), and an event loop watches
// its file descriptor. The descriptor is closed when the object goes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "qapi/error.h"

namespace machina {

class EventNotifier {
 public:
  // A new eventfd (non-blocking, close-on-exec).
  static Result<std::shared_ptr<EventNotifier>> create();
  ~EventNotifier();
  EventNotifier(const EventNotifier&) = delete;
  EventNotifier& operator=(const EventNotifier&) = delete;

  int fd() const { return fd_; }
  // Makes the descriptor readable (thread-safe).
  void set();
  // Whether it was set since the last call; clears it.
  bool test_and_clear();

  // Event notifiers alive in the process (for tests: no descriptor outlives its user).
  static uint64_t live_count() { return live_.load(std::memory_order_acquire); }

 private:
  explicit EventNotifier(int fd) : fd_(fd) {}
  int fd_;
  static inline std::atomic<uint64_t> live_{0};
};

}  // namespace machina
