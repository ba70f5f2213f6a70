#include "block/block-throttle.h"

namespace machina {

BlockThrottle::BlockThrottle(const ThrottleConfig& cfg) : state_(cfg) {}

BlockThrottle::~BlockThrottle() = default;

ClockType BlockThrottle::clock() {
  // Chosen on first use: the accelerator has set the virtual clock's mode by then.
  if (!clock_) {
    clock_ =
        virtual_clock_mode() == VirtualClockMode::Manual ? ClockType::Virtual : ClockType::Realtime;
    timer_ = std::make_unique<Timer>(*clock_, [this] { dispatch(); });
  }
  return *clock_;
}

void BlockThrottle::set_config(const ThrottleConfig& cfg) {
  state_.set_config(cfg);
  dispatch();
}

void BlockThrottle::submit(bool is_write, uint64_t bytes, std::function<void()> start) {
  if (queue_.empty() && state_.wait_ns(is_write, now()) == 0) {
    state_.account(is_write, bytes, now());
    start();
    return;
  }
  queue_.push_back(Pending{is_write, bytes, std::move(start)});
  if (queue_.size() == 1) dispatch();
}

void BlockThrottle::release_all() {
  std::deque<Pending> all;
  all.swap(queue_);
  if (timer_) timer_->del();
  for (Pending& p : all) {
    state_.account(p.is_write, p.bytes, now());
    p.start();
  }
}

void BlockThrottle::dispatch() {
  if (dispatching_) return;
  dispatching_ = true;
  int64_t wait = 0;
  while (!queue_.empty()) {
    wait = state_.wait_ns(queue_.front().is_write, now());
    if (wait > 0) break;
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    state_.account(p.is_write, p.bytes, now());
    p.start();
  }
  dispatching_ = false;
  if (queue_.empty()) {
    if (timer_) timer_->del();
    return;
  }
  (void)clock();
  timer_->mod(now() + wait);
}

}  // namespace machina
