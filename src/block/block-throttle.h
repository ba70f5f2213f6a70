// A BlockBackend's I/O limits at work (QEMU's throttle group member, one backend per group):
// requests that the leaky buckets (block/throttle.h) do not let start yet wait in one FIFO queue,
// in submission order whatever their direction, and a main-loop timer starts them when the
// buckets allow. The clock is QEMU's: realtime, or the virtual clock under the qtest accelerator
// (so qtests move throttled I/O with clock_step).
//
// Loop thread only (BQL held).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "block/throttle.h"
#include "util/qemu-timer.h"

namespace machina {

class BlockThrottle {
 public:
  explicit BlockThrottle(const ThrottleConfig& cfg);
  ~BlockThrottle();
  BlockThrottle(const BlockThrottle&) = delete;
  BlockThrottle& operator=(const BlockThrottle&) = delete;

  const ThrottleConfig& config() const { return state_.config(); }
  // New limits: the buckets start empty; queued requests are reconsidered at once.
  void set_config(const ThrottleConfig& cfg);

  // Runs `start` now if nothing is queued and the limits allow it, else queues it. `bytes` is
  // the request's size (0 for none).
  void submit(bool is_write, uint64_t bytes, std::function<void()> start);
  // Starts every queued request now, in order (a drain never waits for the limits). They are
  // charged to the buckets as they start.
  void release_all();
  size_t queued() const { return queue_.size(); }

 private:
  struct Pending {
    bool is_write;
    uint64_t bytes;
    std::function<void()> start;
  };
  ClockType clock();
  int64_t now() { return clock_get_ns(clock()); }
  // Starts queued requests while the limits allow, then arms the timer for the next one.
  void dispatch();

  ThrottleState state_;
  std::deque<Pending> queue_;
  std::optional<ClockType> clock_;
  std::unique_ptr<Timer> timer_;
  bool dispatching_ = false;
};

}  // namespace machina
