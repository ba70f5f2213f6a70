// The local APIC timer on the virtual clock: one-shot and periodic modes, the divide
// configuration and the current count. The APIC bus runs at kApicBusFrequencyHz (1 GHz, as
// QEMU's and KVM's): the count decrements every `divide` ns.
#include <algorithm>

#include "hw/intc/apic.h"

namespace machina {

// Divide configuration (bits 0, 1 and 3): 000 -> 2, 001 -> 4, ..., 110 -> 128, 111 -> 1.
int64_t Apic::timer_divide() const {
  uint32_t v = (timer_divide_config_ & 3) | ((timer_divide_config_ >> 1) & 4);
  return v == 7 ? 1 : int64_t{2} << v;
}

uint32_t Apic::timer_current_count(int64_t now) const {
  if (timer_initial_ == 0) return 0;
  int64_t ticks = (now - timer_start_ns_) / timer_divide();
  if (ticks < 0) ticks = 0;
  if (lvt_[kLvtTimer] & kApicLvtTimerPeriodic) {
    return uint32_t(timer_initial_ - uint64_t(ticks) % timer_initial_);
  }
  return ticks >= int64_t{timer_initial_} ? 0 : uint32_t(timer_initial_ - ticks);
}

// Arms the timer for the next expiry strictly after `now` that will raise an interrupt.
void Apic::timer_update(int64_t now) {
  if (timer_initial_ == 0 || (lvt_[kLvtTimer] & kApicLvtMasked)) {
    timer_.del();
    return;
  }
  int64_t period = int64_t{timer_initial_} * timer_divide();
  int64_t next = timer_start_ns_ + period;
  if (lvt_[kLvtTimer] & kApicLvtTimerPeriodic) {
    if (next <= now) next += ((now - next) / period + 1) * period;
    if (period < kApicMinTimerPeriodNs) next = std::max(next, now + kApicMinTimerPeriodNs);
  } else if (next <= now) {
    timer_.del();  // one-shot: already expired
    return;
  }
  timer_.mod(next);
}

void Apic::timer_expired() {
  int64_t now = clock_get_ns(ClockType::Virtual);
  local_deliver(kLvtTimer);
  timer_update(now);
}

void Apic::write_timer_initial(uint32_t value) {
  timer_initial_ = value;
  timer_start_ns_ = clock_get_ns(ClockType::Virtual);
  timer_update(timer_start_ns_);
}

// A new divider takes effect from the current count on (as KVM does).
void Apic::write_timer_divide(uint32_t value) {
  int64_t now = clock_get_ns(ClockType::Virtual);
  uint32_t count = timer_current_count(now);
  bool running = count != 0;
  timer_divide_config_ = value & 0xb;
  if (running) timer_start_ns_ = now - int64_t{timer_initial_ - count} * timer_divide();
  timer_update(now);
}

}  // namespace machina
