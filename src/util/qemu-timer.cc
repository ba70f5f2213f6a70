#include "util/qemu-timer.h"

#include <time.h>

#include <algorithm>
#include <mutex>

namespace machina {

namespace {

int64_t host_clock_ns(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return int64_t(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

struct VirtualClock {
  std::mutex lock;
  VirtualClockMode mode = VirtualClockMode::Running;
  bool running = false;
  int64_t offset = 0;  // running: value = monotonic + offset
  int64_t frozen = 0;  // paused: the value
  int64_t manual = 0;  // manual mode: the value

  int64_t get_locked() const {
    if (mode == VirtualClockMode::Manual) return manual;
    if (running) return host_clock_ns(CLOCK_MONOTONIC) + offset;
    return frozen;
  }
};

VirtualClock& vclock() {
  static VirtualClock* c = new VirtualClock;  // never destroyed: used from exit paths
  return *c;
}

struct TimerList {
  std::mutex lock;
  std::multimap<int64_t, Timer*> timers;
};

TimerList& timer_list(ClockType c) {
  static TimerList* lists = new TimerList[kClockCount];
  return lists[int(c)];
}

std::mutex& notify_lock() {
  static std::mutex* m = new std::mutex;
  return *m;
}
std::function<void()>& notify_fn() {
  static auto* f = new std::function<void()>;
  return *f;
}

void notify() {
  std::function<void()> fn;
  {
    std::lock_guard g(notify_lock());
    fn = notify_fn();
  }
  if (fn) fn();
}

// Advances the manual virtual clock to `dest`, running due timers at each deadline on the way.
int64_t manual_advance(int64_t dest) {
  VirtualClock& vc = vclock();
  for (;;) {
    int64_t now;
    {
      std::lock_guard g(vc.lock);
      if (vc.mode != VirtualClockMode::Manual) return vc.get_locked();
      now = vc.manual;
      if (now >= dest) break;
      int64_t next = dest;
      {
        TimerList& tl = timer_list(ClockType::Virtual);
        std::lock_guard g2(tl.lock);
        if (!tl.timers.empty()) next = std::min(next, std::max(tl.timers.begin()->first, now));
      }
      vc.manual = next;
    }
    timers_run_expired(ClockType::Virtual);
  }
  timers_run_expired(ClockType::Virtual);
  notify();
  return clock_get_ns(ClockType::Virtual);
}

}  // namespace

// Lets the timer code reach Timer's private state without exposing it.
struct TimerListAccess {
  static bool run_one(ClockType clock, int64_t now) {
    TimerList& tl = timer_list(clock);
    std::unique_lock g(tl.lock);
    if (tl.timers.empty()) return false;
    auto it = tl.timers.begin();
    if (it->first > now) return false;
    Timer* t = it->second;
    tl.timers.erase(it);
    t->pending_ = false;
    t->expire_ = -1;
    // Run a moved-out copy of the callback so that the callback may destroy its timer.
    Timer::Callback cb = std::move(t->cb_);
    bool destroyed = false;
    t->destroyed_flag_ = &destroyed;
    g.unlock();
    if (cb) cb();
    g.lock();
    if (!destroyed) {
      t->destroyed_flag_ = nullptr;
      if (!t->cb_) t->cb_ = std::move(cb);
    }
    return true;
  }
};

int64_t clock_get_ns(ClockType type) {
  switch (type) {
    case ClockType::Realtime:
      return host_clock_ns(CLOCK_MONOTONIC);
    case ClockType::Host:
      return host_clock_ns(CLOCK_REALTIME);
    case ClockType::Virtual: {
      VirtualClock& vc = vclock();
      std::lock_guard g(vc.lock);
      return vc.get_locked();
    }
  }
  return 0;
}

void virtual_clock_set_mode(VirtualClockMode mode) {
  VirtualClock& vc = vclock();
  {
    std::lock_guard g(vc.lock);
    if (vc.mode == mode) return;
    int64_t now = vc.get_locked();
    vc.mode = mode;
    if (mode == VirtualClockMode::Manual) {
      vc.manual = now;
    } else {
      vc.frozen = now;
      vc.offset = now - host_clock_ns(CLOCK_MONOTONIC);
    }
  }
  notify();
}

VirtualClockMode virtual_clock_mode() {
  VirtualClock& vc = vclock();
  std::lock_guard g(vc.lock);
  return vc.mode;
}

void virtual_clock_pause() {
  VirtualClock& vc = vclock();
  std::lock_guard g(vc.lock);
  if (!vc.running) return;
  if (vc.mode == VirtualClockMode::Running) vc.frozen = vc.get_locked();
  vc.running = false;
}

void virtual_clock_resume() {
  VirtualClock& vc = vclock();
  {
    std::lock_guard g(vc.lock);
    if (vc.running) return;
    vc.offset = vc.frozen - host_clock_ns(CLOCK_MONOTONIC);
    vc.running = true;
  }
  notify();
}

bool virtual_clock_running() {
  VirtualClock& vc = vclock();
  std::lock_guard g(vc.lock);
  return vc.running;
}

int64_t clock_set(int64_t ns) {
  return manual_advance(ns);
}

int64_t clock_step(int64_t ns) {
  int64_t now = clock_get_ns(ClockType::Virtual);
  if (ns < 0) return now;
  int64_t dest = (ns > INT64_MAX - now) ? INT64_MAX : now + ns;
  return manual_advance(dest);
}

int64_t clock_step_next() {
  int64_t d = timer_clock_deadline_ns(ClockType::Virtual);
  int64_t now = clock_get_ns(ClockType::Virtual);
  if (d < 0) return now;
  return manual_advance(now + d);
}

void virtual_clock_reset_for_test() {
  VirtualClock& vc = vclock();
  std::lock_guard g(vc.lock);
  vc.mode = VirtualClockMode::Running;
  vc.running = false;
  vc.offset = vc.frozen = vc.manual = 0;
}

Timer::Timer(ClockType clock, Callback cb) : clock_(clock), cb_(std::move(cb)) {}

Timer::~Timer() {
  del();
  if (destroyed_flag_) *destroyed_flag_ = true;
}

void Timer::mod(int64_t expire_ns) {
  if (expire_ns < 0) expire_ns = 0;
  bool first;
  {
    TimerList& tl = timer_list(clock_);
    std::lock_guard g(tl.lock);
    if (pending_) tl.timers.erase(pos_);
    pos_ = tl.timers.emplace(expire_ns, this);  // after equal keys: stable order
    pending_ = true;
    expire_ = expire_ns;
    first = pos_ == tl.timers.begin();
  }
  if (first) notify();
}

void Timer::mod_anticipate(int64_t expire_ns) {
  {
    TimerList& tl = timer_list(clock_);
    std::lock_guard g(tl.lock);
    if (pending_ && expire_ <= expire_ns) return;
  }
  mod(expire_ns);
}

void Timer::del() {
  TimerList& tl = timer_list(clock_);
  std::lock_guard g(tl.lock);
  if (!pending_) return;
  tl.timers.erase(pos_);
  pending_ = false;
  expire_ = -1;
}

bool Timer::pending() const {
  TimerList& tl = timer_list(clock_);
  std::lock_guard g(tl.lock);
  return pending_;
}

int64_t Timer::expire_time() const {
  TimerList& tl = timer_list(clock_);
  std::lock_guard g(tl.lock);
  return expire_;
}

bool timers_run_expired(ClockType clock) {
  bool any = false;
  // The clock is read once: a callback that re-arms its timer for "now" on a running clock runs
  // again on the next pass, not in a tight loop here.
  int64_t now = clock_get_ns(clock);
  while (TimerListAccess::run_one(clock, now)) any = true;
  return any;
}

bool timers_run_all_expired() {
  bool any = false;
  for (int c = 0; c < kClockCount; c++) any |= timers_run_expired(ClockType(c));
  return any;
}

int64_t timer_clock_deadline_ns(ClockType clock) {
  int64_t first;
  {
    TimerList& tl = timer_list(clock);
    std::lock_guard g(tl.lock);
    if (tl.timers.empty()) return -1;
    first = tl.timers.begin()->first;
  }
  return std::max<int64_t>(0, first - clock_get_ns(clock));
}

int64_t timers_deadline_ns() {
  int64_t best = -1;
  for (int c = 0; c < kClockCount; c++) {
    int64_t d = timer_clock_deadline_ns(ClockType(c));
    if (d < 0) continue;
    if (c == int(ClockType::Virtual) && d > 0) {
      VirtualClock& vc = vclock();
      std::lock_guard g(vc.lock);
      if (vc.mode == VirtualClockMode::Manual || !vc.running) continue;
    }
    if (best < 0 || d < best) best = d;
  }
  return best;
}

void timers_set_notify(std::function<void()> fn) {
  std::lock_guard g(notify_lock());
  notify_fn() = std::move(fn);
}

}  // namespace machina
