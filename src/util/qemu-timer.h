// Clocks and timers (QEMU's qemu-timer): three clocks in nanoseconds and one-shot timers on them
// whose callbacks run on the main loop.
//
// Clocks:
//   Realtime  CLOCK_MONOTONIC; always runs.
//   Host      CLOCK_REALTIME (wall clock); may jump.
//   Virtual   guest time. Starts at 0, stopped until virtual_clock_resume() (vm_start); while
//             running it advances with CLOCK_MONOTONIC, while paused it stands still. In manual
//             mode (the qtest accelerator) it moves ONLY through clock_step / clock_set.
//
// Timers are kept per clock, sorted by deadline; equal deadlines fire in the order they were
// armed. A callback may delete, re-arm or destroy its own timer (or any other). Timers may be
// armed or deleted from any thread; the main loop is woken when the earliest deadline moves.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

namespace machina {

enum class ClockType { Realtime = 0, Host = 1, Virtual = 2 };
inline constexpr int kClockCount = 3;

constexpr int64_t kNsPerMs = 1000000;
constexpr int64_t kNsPerSec = 1000000000;

int64_t clock_get_ns(ClockType type);
inline int64_t clock_get_ms(ClockType type) {
  return clock_get_ns(type) / kNsPerMs;
}

// --- the virtual clock
enum class VirtualClockMode { Running, Manual };
void virtual_clock_set_mode(VirtualClockMode mode);
VirtualClockMode virtual_clock_mode();
// vm_stop / vm_start: freeze and restart the virtual clock (Running mode). Idempotent.
void virtual_clock_pause();
void virtual_clock_resume();
bool virtual_clock_running();

// Manual mode only (callers check that the qtest accelerator is active). Each advances the clock
// towards the target step by step, stopping at every timer deadline on the way and running the
// timers that are due there, in deadline order; returns the virtual clock afterwards.
int64_t clock_step(int64_t ns);  // to now + ns
int64_t clock_step_next();       // to the next virtual deadline; no-op if no timer is armed
int64_t clock_set(int64_t ns);   // to ns; no-op if the clock is already past it

// Resets the virtual clock to 0, paused, Running mode. Armed timers stay armed. For tests.
void virtual_clock_reset_for_test();

class Timer {
 public:
  using Callback = std::function<void()>;
  Timer(ClockType clock, Callback cb);
  ~Timer();  // deletes the timer
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Arms (or re-arms) the timer to fire when its clock reaches expire_ns.
  void mod(int64_t expire_ns);
  // As mod, but only moves the deadline earlier (or arms it if idle).
  void mod_anticipate(int64_t expire_ns);
  void mod_ms(int64_t expire_ms) { mod(expire_ms * kNsPerMs); }
  void del();
  bool pending() const;
  // The deadline if pending, -1 otherwise.
  int64_t expire_time() const;
  ClockType clock() const { return clock_; }

 private:
  friend struct TimerListAccess;
  ClockType clock_;
  Callback cb_;
  bool pending_ = false;
  int64_t expire_ = -1;
  std::multimap<int64_t, Timer*>::iterator pos_;
  bool* destroyed_flag_ = nullptr;  // set while the callback runs
};

// Runs the due timers of one clock (deadline order). Returns true if any ran.
bool timers_run_expired(ClockType clock);
// Runs the due timers of all clocks.
bool timers_run_all_expired();
// Nanoseconds until the nearest deadline that can come due without outside action (a paused or
// manual virtual clock counts only if a timer is already due): 0 if due now, -1 if none.
int64_t timers_deadline_ns();
// Nanoseconds until the next deadline on one clock, ignoring whether the clock runs; -1 if none.
int64_t timer_clock_deadline_ns(ClockType clock);

// Called (from any thread) when a timer becomes the earliest of its clock, so a sleeping loop can
// recompute its timeout. Set by the main loop.
void timers_set_notify(std::function<void()> notify);

}  // namespace machina
