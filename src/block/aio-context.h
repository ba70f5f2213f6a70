// Where the block layer's completions run (QEMU's AioContext for the main loop): engines hand
// finished requests over here, and the callbacks run on the main loop thread (which holds the
// BQL while dispatching), or inside block_aio_poll() when a caller drains. Block timers
// (BlockAioTimer) belong here too: a drain waiting for a request that completes on a timer (the
// null driver's latency-ns) runs that timer when it is due.
#pragma once

#include <cstdint>
#include <functional>

#include "util/qemu-timer.h"

namespace machina {

// Sets the context up on the calling (main loop) thread; engines call it before they start threads.
void block_aio_init();

// Thread-safe: runs fn on the main loop (or in the next block_aio_poll), in the order deferred.
void block_defer(std::function<void()> fn);

// Completes a request later with `ret` (never inside the call that started it).
inline void block_defer_cb(std::function<void(int)> cb, int ret) {
  block_defer([cb = std::move(cb), ret] { cb(ret); });
}

// A completion source: an fd that becomes readable when there is work, and the function that
// does the work (returns true if it completed anything). Registered with the main loop too.
// Loop thread only.
int block_add_source(int fd, std::function<bool()> process);
void block_remove_source(int id);

// One round of completion handling on the calling thread: deferred callbacks, every source and
// the block timers that are due. With `blocking`, waits (up to timeout_ms, -1 for no limit, and
// never past the next block timer's deadline) for a source when nothing was ready. Returns true
// if anything ran. Must not be called on another thread than the main loop's while the main loop
// runs.
bool block_aio_poll(bool blocking, int timeout_ms = -1);

// A one-shot timer for completion work (QEMU's aio_timer_new on the main AioContext). It fires on
// the main loop like any Timer, and also inside block_aio_poll() once its clock has reached the
// deadline, so a drain that waits for it sleeps until then and runs it. A manual (qtest) virtual
// clock never moves by itself: a drain never waits for a timer on it that is not yet due.
// Loop thread only. The callback may destroy the timer.
class BlockAioTimer {
 public:
  BlockAioTimer(ClockType clock, std::function<void()> cb);
  ~BlockAioTimer();
  BlockAioTimer(const BlockAioTimer&) = delete;
  BlockAioTimer& operator=(const BlockAioTimer&) = delete;

  void mod(int64_t expire_ns) { timer_.mod(expire_ns); }
  void del() { timer_.del(); }
  bool pending() const { return timer_.pending(); }
  int64_t expire_time() const { return timer_.expire_time(); }
  ClockType clock() const { return timer_.clock(); }

  // block_aio_poll's part: runs the callback if the timer is due. True if it ran.
  bool run_if_due();

 private:
  void fire();

  std::function<void()> cb_;
  Timer timer_;
  uint64_t id_ = 0;
};

}  // namespace machina
