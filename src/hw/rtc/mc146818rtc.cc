// The MC146818 RTC/CMOS: see mc146818rtc.h. Time is derived, not ticked: the registers are filled
// from the divider position when read, and interrupt flags are computed for the interval since the
// last access (sync), so that an idle guest costs nothing unless it enabled an interrupt.
#include "hw/rtc/mc146818rtc.h"

#include <climits>
#include <ctime>

#include "monitor/monitor.h"
#include "qom/property-types.h"
#include "system/rtc-base.h"
#include "util/log.h"

namespace machina {

using namespace rtc_reg;

namespace {

constexpr uint8_t kRegA_UIP = 0x80;
constexpr uint8_t kRegB_SET = 0x80, kRegB_PIE = 0x40, kRegB_AIE = 0x20, kRegB_UIE = 0x10,
                  kRegB_DM = 0x04, kRegB_24H = 0x02;
constexpr uint8_t kRegC_IRQF = 0x80, kRegC_PF = 0x40, kRegC_AF = 0x20, kRegC_UF = 0x10;
constexpr int64_t kUipNs = 244000;  // UIP is set this long before an update
constexpr int64_t kDividerFreq = 32768;

int64_t div_ticks(int64_t ns) {
  return int64_t((__int128)ns * kDividerFreq / kNsPerSec);
}
int64_t div_ticks_to_ns(int64_t ticks) {
  return int64_t(((__int128)ticks * kNsPerSec + kDividerFreq - 1) / kDividerFreq);
}
int64_t floor_div(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

}  // namespace

Mc146818Rtc::Mc146818Rtc() {
  init_gpio_out("", 1);
}

Status Mc146818Rtc::do_realize() {
  MemoryRegionOps ops;
  ops.read = [this](uint64_t addr, unsigned) -> uint64_t { return addr == 0 ? 0xff : read_data(); };
  ops.write = [this](uint64_t addr, uint64_t v, unsigned) {
    if (addr == 0) {
      index_ = uint8_t(v) & 0x7f;
    } else {
      write_data(uint8_t(v));
    }
  };
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = 1;
  io_.init_io(this, "rtc", std::move(ops), 2);
  if (Status s = isa_register_ioport(&io_, uint16_t(iobase)); !s.ok()) return s;
  if (!gpio_out("", 0)) isa_connect_gpio_out(0, int(isairq));

  // Power-on state (QEMU's realize): 32.768 kHz time base with a 1024 Hz rate, 24-hour BCD,
  // valid RAM and time, the host's UTC time with the next update one second from now.
  cmos_[kA] = 0x26;
  cmos_[kB] = kRegB_24H;
  cmos_[kC] = 0;
  cmos_[kD] = 0x80;
  int64_t t = clock_get_ns(ClockType::Virtual);
  div_ref_ns_ = t;
  div_at_ref_ = 0;
  last_sync_div_ = 0;
  base_sec_ = rtc_base_time();
  base_div_sec_ = 0;
  fill_time_regs(base_sec_);
  irq_level_ = 0;
  set_gpio_out("", 0, 0);
  return Status::Ok();
}

void Mc146818Rtc::do_unrealize() {
  timer_.del();
  IsaDevice::do_unrealize();
}

void Mc146818Rtc::do_reset() {
  // As QEMU's reset: the time and the CMOS memory survive; interrupts are disabled and cleared.
  int64_t t = clock_get_ns(ClockType::Virtual);
  sync(t);
  cmos_[kB] &= uint8_t(~(kRegB_PIE | kRegB_AIE | 0x08 /* SQWE */));
  cmos_[kC] = 0;
  update_irq();
  rearm(t);
}

void Mc146818Rtc::set_memory(int addr, uint8_t v) {
  if (addr >= 0 && addr < 128) cmos_[size_t(addr)] = v;
}

uint8_t Mc146818Rtc::get_memory(int addr) const {
  return (addr >= 0 && addr < 128) ? cmos_[size_t(addr)] : 0xff;
}

int64_t Mc146818Rtc::guest_time() const {
  if (!time_running()) return parse_time_regs();
  return current_sec(clock_get_ns(ClockType::Virtual));
}

// --- time keeping

bool Mc146818Rtc::divider_running() const {
  return (cmos_[kA] & 0x70) <= 0x20;
}

bool Mc146818Rtc::time_running() const {
  return !(cmos_[kB] & kRegB_SET) && divider_running();
}

int64_t Mc146818Rtc::div_ns(int64_t t) const {
  return divider_running() ? div_at_ref_ + (t - div_ref_ns_) : div_at_ref_;
}

int64_t Mc146818Rtc::current_sec(int64_t t) const {
  if (!time_running()) return base_sec_;
  return base_sec_ + floor_div(div_ns(t), kNsPerSec) - base_div_sec_;
}

uint8_t Mc146818Rtc::to_bcd(int v) const {
  if (cmos_[kB] & kRegB_DM) return uint8_t(v);
  return uint8_t(((v / 10) << 4) | (v % 10));
}

int Mc146818Rtc::from_bcd(uint8_t v) const {
  if (cmos_[kB] & kRegB_DM) return v;
  return ((v >> 4) & 0x0f) * 10 + (v & 0x0f);
}

uint8_t Mc146818Rtc::encode_hour(int hour) const {
  if (cmos_[kB] & kRegB_24H) return to_bcd(hour);
  int h12 = hour % 12 == 0 ? 12 : hour % 12;
  return uint8_t(to_bcd(h12) | (hour >= 12 ? 0x80 : 0));
}

void Mc146818Rtc::fill_time_regs(int64_t sec) {
  time_t tt = time_t(sec);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  int year = tm.tm_year + 1900;
  cmos_[kSeconds] = to_bcd(tm.tm_sec);
  cmos_[kMinutes] = to_bcd(tm.tm_min);
  cmos_[kHours] = encode_hour(tm.tm_hour);
  cmos_[kDayOfWeek] = to_bcd(tm.tm_wday + 1);
  cmos_[kDayOfMonth] = to_bcd(tm.tm_mday);
  cmos_[kMonth] = to_bcd(tm.tm_mon + 1);
  cmos_[kYear] = to_bcd(year % 100);
  cmos_[kCentury] = to_bcd(year / 100);
}

int64_t Mc146818Rtc::parse_time_regs() const {
  struct tm tm {};
  tm.tm_sec = from_bcd(cmos_[kSeconds]);
  tm.tm_min = from_bcd(cmos_[kMinutes]);
  int hour = from_bcd(cmos_[kHours] & 0x7f);
  if (!(cmos_[kB] & kRegB_24H)) {
    hour %= 12;
    if (cmos_[kHours] & 0x80) hour += 12;
  }
  tm.tm_hour = hour;
  tm.tm_mday = from_bcd(cmos_[kDayOfMonth]);
  tm.tm_mon = from_bcd(cmos_[kMonth]) - 1;
  tm.tm_year = from_bcd(cmos_[kCentury]) * 100 + from_bcd(cmos_[kYear]) - 1900;
  return int64_t(timegm(&tm));
}

bool Mc146818Rtc::alarm_matches(int64_t sec) const {
  int64_t day_sec = ((sec % 86400) + 86400) % 86400;
  auto match = [](uint8_t alarm, uint8_t now) { return (alarm & 0xc0) == 0xc0 || alarm == now; };
  return match(cmos_[kSecondsAlarm], to_bcd(int(day_sec % 60))) &&
         match(cmos_[kMinutesAlarm], to_bcd(int(day_sec / 60 % 60))) &&
         match(cmos_[kHoursAlarm], encode_hour(int(day_sec / 3600)));
}

int64_t Mc146818Rtc::next_alarm_after(int64_t sec) const {
  for (int64_t s = sec + 1; s <= sec + 86400; ++s) {
    if (alarm_matches(s)) return s;
  }
  return INT64_MAX;
}

void Mc146818Rtc::set_time_from_regs(int64_t t, bool send_event) {
  base_sec_ = parse_time_regs();
  base_div_sec_ = floor_div(div_ns(t), kNsPerSec);
  if (send_event) {
    int64_t offset = base_sec_ - rtc_base_time();  // relative to what -rtc base= gives
    monitor_event("RTC_CHANGE", json{{"offset", offset}});
  }
}

void Mc146818Rtc::freeze_time(int64_t t) {
  base_sec_ = current_sec(t);
  fill_time_regs(base_sec_);
}

// --- interrupts

void Mc146818Rtc::sync(int64_t t) {
  int64_t d_now = div_ns(t), d_last = last_sync_div_;
  if (divider_running() && d_now > d_last) {
    // As QEMU: the periodic flag is only set while its interrupt is enabled.
    int rate = cmos_[kA] & 0x0f;
    if (rate && (cmos_[kB] & kRegB_PIE)) {
      int64_t period = int64_t(1) << ((rate <= 2 ? rate + 7 : rate) - 1);  // 32 kHz ticks
      if (floor_div(div_ticks(d_now), period) > floor_div(div_ticks(d_last), period)) {
        cmos_[kC] |= kRegC_PF;
      }
    }
    int64_t s_last = floor_div(d_last, kNsPerSec), s_now = floor_div(d_now, kNsPerSec);
    if (time_running() && s_now > s_last) {
      cmos_[kC] |= kRegC_UF;
      int64_t from = base_sec_ + s_last - base_div_sec_, to = base_sec_ + s_now - base_div_sec_;
      if (next_alarm_after(from) <= to) cmos_[kC] |= kRegC_AF;
    }
  }
  last_sync_div_ = d_now;
  update_irq();
  rearm(t);
}

void Mc146818Rtc::update_irq() {
  uint8_t c = cmos_[kC] & uint8_t(kRegC_PF | kRegC_AF | kRegC_UF);
  bool irqf = (c & cmos_[kB] & (kRegB_PIE | kRegB_AIE | kRegB_UIE)) != 0;
  cmos_[kC] = uint8_t(c | (irqf ? kRegC_IRQF : 0));
  int level = irqf ? 1 : 0;
  if (level != irq_level_) {
    irq_level_ = level;
    set_gpio_out("", 0, level);
  }
}

void Mc146818Rtc::rearm(int64_t t) {
  int64_t next = INT64_MAX;
  int64_t d = div_ns(t);
  int64_t to_second = kNsPerSec - (d - floor_div(d, kNsPerSec) * kNsPerSec);
  uint8_t b = cmos_[kB], c = cmos_[kC];
  if (time_running()) {
    if ((b & kRegB_UIE) && !(c & kRegC_UF)) next = std::min(next, t + to_second);
    if ((b & kRegB_AIE) && !(c & kRegC_AF)) {
      int64_t now_sec = current_sec(t);
      int64_t a = next_alarm_after(now_sec);
      if (a != INT64_MAX) next = std::min(next, t + to_second + (a - now_sec - 1) * kNsPerSec);
    }
  }
  int rate = cmos_[kA] & 0x0f;
  if (divider_running() && rate && (b & kRegB_PIE) && !(c & kRegC_PF)) {
    int64_t period = int64_t(1) << ((rate <= 2 ? rate + 7 : rate) - 1);
    int64_t k = (floor_div(div_ticks(d), period) + 1) * period;
    next = std::min(next, t + (div_ticks_to_ns(k) - d));
  }
  if (next == INT64_MAX) {
    timer_.del();
  } else {
    timer_.mod(next);
  }
}

// --- registers

uint8_t Mc146818Rtc::read_data() {
  int64_t t = clock_get_ns(ClockType::Virtual);
  switch (index_) {
    case kSeconds:
    case kMinutes:
    case kHours:
    case kDayOfWeek:
    case kDayOfMonth:
    case kMonth:
    case kYear:
    case kCentury:
      if (time_running()) fill_time_regs(current_sec(t));
      return cmos_[index_];
    case kA: {
      sync(t);
      uint8_t a = cmos_[kA] & uint8_t(~kRegA_UIP);
      if (time_running()) {
        int64_t d = div_ns(t);
        if (d - floor_div(d, kNsPerSec) * kNsPerSec >= kNsPerSec - kUipNs) a |= kRegA_UIP;
      }
      return a;
    }
    case kC: {
      sync(t);
      uint8_t c = cmos_[kC];
      cmos_[kC] = 0;
      update_irq();
      rearm(t);
      return c;
    }
    default:
      return cmos_[index_];
  }
}

void Mc146818Rtc::write_data(uint8_t v) {
  int64_t t = clock_get_ns(ClockType::Virtual);
  switch (index_) {
    case kSeconds:
    case kMinutes:
    case kHours:
    case kDayOfWeek:
    case kDayOfMonth:
    case kMonth:
    case kYear:
    case kCentury:
      if (time_running()) {
        // As QEMU: a write while the clock runs sets the time at once.
        sync(t);
        fill_time_regs(current_sec(t));
        cmos_[index_] = v;
        set_time_from_regs(t, true);
        rearm(t);
      } else {
        cmos_[index_] = v;
      }
      return;
    case kSecondsAlarm:
    case kMinutesAlarm:
    case kHoursAlarm:
      sync(t);
      cmos_[index_] = v;
      rearm(t);
      return;
    case kA:
      write_reg_a(v, t);
      return;
    case kB:
      write_reg_b(v, t);
      return;
    case kC:
    case kD:
      log_mask(LOG_GUEST_ERROR,
               "mc146818rtc: write to read-only register " + std::to_string(index_) + " ignored");
      return;
    default:
      cmos_[index_] = v;
      return;
  }
}

void Mc146818Rtc::write_reg_a(uint8_t v, int64_t t) {
  sync(t);
  bool was_time = time_running(), was_div = divider_running();
  bool was_reset = (cmos_[kA] & 0x60) == 0x60;
  if (was_time) freeze_time(t);
  int64_t d = div_ns(t);
  cmos_[kA] = v & uint8_t(~kRegA_UIP);
  bool reset = (cmos_[kA] & 0x60) == 0x60;
  if (was_div && !divider_running()) {
    div_at_ref_ = reset ? 0 : d;  // the divider stops (or is held in reset)
  } else if (!was_div && divider_running()) {
    // Counting resumes; out of reset, the first update comes 500 ms later.
    div_ref_ns_ = t;
    div_at_ref_ = was_reset ? kNsPerSec / 2 : d;
  } else if (!divider_running() && reset) {
    div_at_ref_ = 0;
  }
  last_sync_div_ = div_ns(t);
  if (time_running()) set_time_from_regs(t, false);
  update_irq();
  rearm(t);
}

void Mc146818Rtc::write_reg_b(uint8_t v, int64_t t) {
  sync(t);
  bool was_set = cmos_[kB] & kRegB_SET;
  if (v & kRegB_SET) {
    v &= uint8_t(~kRegB_UIE);  // SET clears UIE (datasheet; as QEMU)
    if (!was_set && time_running()) freeze_time(t);
    cmos_[kB] = v;
  } else {
    cmos_[kB] = v;
    if (was_set && divider_running()) set_time_from_regs(t, true);
  }
  if (cmos_[kB] & 0x01) log_mask(LOG_UNIMP, "mc146818rtc: daylight saving mode not supported");
  // An already pending flag raises the IRQ as soon as its interrupt is enabled.
  update_irq();
  rearm(t);
}

namespace {

TypeRegistration rtc_type{TypeInfo{
    .name = kTypeMc146818Rtc,
    .parent = kTypeIsaDevice,
    .instance_new = [] { return new Mc146818Rtc(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.user_creatable = false;
          dc.description = "MC146818 real-time clock and CMOS memory";
          dc.add_property(
              prop::integer<Mc146818Rtc, uint32_t>("iobase", &Mc146818Rtc::iobase, 0x70));
          dc.add_property(prop::integer<Mc146818Rtc, uint32_t>("irq", &Mc146818Rtc::isairq, 8));
        },
}};

}  // namespace

}  // namespace machina
