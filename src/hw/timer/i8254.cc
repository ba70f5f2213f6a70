// The 8254 PIT: see i8254.h. Each counter's state is kept as "ticks counted since the count was
// loaded" (paused while its gate disables counting); its value and OUT level are functions of that.
#include "hw/timer/i8254.h"

#include "qom/property-types.h"
#include "util/log.h"

namespace machina {

namespace {

int64_t ns_to_ticks(int64_t ns) {
  return int64_t((__int128)ns * kPitFreq / kNsPerSec);
}

// The first virtual-clock delay (ns) at which ns_to_ticks reaches `ticks`.
int64_t ticks_to_ns(int64_t ticks) {
  return int64_t(((__int128)ticks * kNsPerSec + kPitFreq - 1) / kPitFreq);
}

// The effective mode of the control word's mode bits (6 and 7 are modes 2 and 3).
int eff_mode(uint8_t mode) {
  return mode >= 6 ? mode - 4 : mode;
}

}  // namespace

I8254::I8254() {
  init_gpio_out("", 1);
}

Status I8254::do_realize() {
  MemoryRegionOps ops;
  ops.read = [this](uint64_t addr, unsigned) -> uint64_t {
    if (addr == 3) return 0xff;  // the control word register is write-only
    return read_counter(int(addr));
  };
  ops.write = [this](uint64_t addr, uint64_t v, unsigned) {
    if (addr == 3) {
      write_control(uint8_t(v));
    } else {
      write_counter(int(addr), uint8_t(v));
    }
  };
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = 1;
  io_.init_io(this, "pit", std::move(ops), 4);
  if (Status s = isa_register_ioport(&io_, uint16_t(iobase)); !s.ok()) return s;
  do_reset();
  return Status::Ok();
}

void I8254::do_unrealize() {
  timer_.del();
  IsaDevice::do_unrealize();
}

void I8254::do_reset() {
  // As QEMU: every counter in mode 3 with count 0x10000, counting from reset; gates 0 and 1 high.
  int64_t t = now();
  for (int i = 0; i < 3; ++i) {
    Counter& c = ch_[size_t(i)];
    c = Counter{};
    c.mode = 3;
    c.rw_mode = 3;
    c.gate = i != 2;
    load_count(i, 0);
    if (!c.gate) pause(c, t);
  }
  irq_level_ = -1;
  update_irq();
}

int64_t I8254::now() const {
  return clock_get_ns(ClockType::Virtual);
}

int64_t I8254::elapsed(const Counter& c, int64_t t) const {
  return c.ticks_base + (c.running ? ns_to_ticks(t - c.run_start_ns) : 0);
}

void I8254::start(Counter& c, int64_t t) {
  c.ticks_base = 0;
  c.run_start_ns = t;
  c.running = true;
}

void I8254::pause(Counter& c, int64_t t) {
  c.ticks_base = elapsed(c, t);
  c.running = false;
}

bool I8254::out_at(const Counter& c, int64_t d) const {
  int mode = eff_mode(c.mode);
  if (!c.loaded) return mode != 0;  // after the control word: mode 0 low, the others high
  int64_t n = c.count;
  switch (mode) {
    case 0:
      return d >= n;
    case 1:
      return !c.armed || d >= n;
    case 2:
      if (!c.gate) return true;
      return n == 1 || d % n != n - 1;  // low for the one tick the count is 1
    case 3:
      if (!c.gate) return true;
      return d % n < (n + 1) / 2;
    default:  // 4, 5: a one-tick strobe when the count reaches 0
      if (mode == 5 && !c.armed) return true;
      return d != n;
  }
}

uint16_t I8254::count_at(const Counter& c, int64_t d) const {
  int64_t n = c.count;
  if (!c.loaded || (eff_mode(c.mode) % 4 == 1 && !c.armed)) return uint16_t(n);
  switch (eff_mode(c.mode)) {
    case 2:
      return uint16_t(n - d % n);
    case 3:
      return uint16_t(n - (2 * d) % n);
    default:
      return uint16_t(n - d);
  }
}

bool I8254::out_now(int ch) const {
  const Counter& c = ch_[size_t(ch)];
  return out_at(c, elapsed(c, now()));
}

bool I8254::out(int ch) const {
  return out_now(ch);
}

void I8254::load_count(int ch, uint32_t v) {
  Counter& c = ch_[size_t(ch)];
  c.count = v ? v : 0x10000;
  c.loaded = true;
  c.null_count = false;
  int64_t t = now();
  switch (eff_mode(c.mode)) {
    case 1:
    case 5:
      break;  // counting starts at the next rising edge of the gate
    default:
      c.armed = true;
      start(c, t);
      if (!c.gate) pause(c, t);
      break;
  }
  if (c.bcd) log_mask(LOG_UNIMP, "i8254: BCD counting not supported; counting in binary");
  if (ch == 0) update_irq();
}

void I8254::set_gate(int ch, bool level) {
  Counter& c = ch_[size_t(ch)];
  if (c.gate == level) return;
  int64_t t = now();
  c.gate = level;
  switch (eff_mode(c.mode)) {
    case 0:
    case 4:  // the gate enables counting
      if (!c.armed) break;
      if (level) {
        c.run_start_ns = t;
        c.running = true;
      } else {
        pause(c, t);
      }
      break;
    case 1:
    case 5:  // a rising edge (re)triggers
      if (level && c.loaded) {
        c.armed = true;
        start(c, t);
      }
      break;
    default:  // 2, 3: low stops counting (OUT high); a rising edge reloads
      if (!c.armed) break;
      if (level) {
        start(c, t);
      } else {
        pause(c, t);
      }
      break;
  }
  if (ch == 0) update_irq();
}

void I8254::latch_count(int ch) {
  Counter& c = ch_[size_t(ch)];
  if (c.count_latched) return;  // the first latch holds until it is read
  c.latched_count = count_at(c, elapsed(c, now()));
  c.latched_rw = c.rw_mode;
  c.latched_msb_next = false;
  c.count_latched = true;
}

void I8254::write_control(uint8_t v) {
  int sel = v >> 6;
  if (sel == 3) {  // read-back: bit 5 low latches counts, bit 4 low latches status
    for (int ch = 0; ch < 3; ++ch) {
      if (!(v & (2u << ch))) continue;
      Counter& c = ch_[size_t(ch)];
      if (!(v & 0x20)) latch_count(ch);
      if (!(v & 0x10) && !c.status_latched) {
        c.status = uint8_t((out_now(ch) ? 0x80 : 0) | (c.null_count ? 0x40 : 0) | (c.rw_mode << 4) |
                           (c.mode << 1) | (c.bcd ? 1 : 0));
        c.status_latched = true;
      }
    }
    return;
  }
  int rw = (v >> 4) & 3;
  if (rw == 0) {
    latch_count(sel);
    return;
  }
  Counter& c = ch_[size_t(sel)];
  c.rw_mode = uint8_t(rw);
  c.mode = (v >> 1) & 7;
  c.bcd = v & 1;
  c.write_msb_next = false;
  c.read_msb_next = false;
  c.loaded = false;
  c.armed = false;
  c.running = false;
  c.ticks_base = 0;
  c.null_count = true;
  if (sel == 0) update_irq();
}

void I8254::write_counter(int ch, uint8_t v) {
  Counter& c = ch_[size_t(ch)];
  switch (c.rw_mode) {
    case 1:
      load_count(ch, v);
      break;
    case 2:
      load_count(ch, uint32_t(v) << 8);
      break;
    default:
      if (!c.write_msb_next) {
        c.write_lsb = v;
        c.write_msb_next = true;
        c.null_count = true;
      } else {
        c.write_msb_next = false;
        load_count(ch, c.write_lsb | (uint32_t(v) << 8));
      }
      break;
  }
}

uint8_t I8254::read_counter(int ch) {
  Counter& c = ch_[size_t(ch)];
  if (c.status_latched) {
    c.status_latched = false;
    return c.status;
  }
  if (c.count_latched) {
    uint16_t v = c.latched_count;
    switch (c.latched_rw) {
      case 1:
        c.count_latched = false;
        return uint8_t(v);
      case 2:
        c.count_latched = false;
        return uint8_t(v >> 8);
      default:
        if (!c.latched_msb_next) {
          c.latched_msb_next = true;
          return uint8_t(v);
        }
        c.count_latched = false;
        return uint8_t(v >> 8);
    }
  }
  uint16_t v = count_at(c, elapsed(c, now()));
  switch (c.rw_mode) {
    case 1:
      return uint8_t(v);
    case 2:
      return uint8_t(v >> 8);
    default:
      c.read_msb_next = !c.read_msb_next;
      return c.read_msb_next ? uint8_t(v) : uint8_t(v >> 8);
  }
}

void I8254::update_irq(int64_t at) {
  Counter& c = ch_[0];
  int64_t t = at >= 0 ? at : now();
  int64_t d = elapsed(c, t);
  int level = out_at(c, d) ? 1 : 0;
  if (level != irq_level_) {
    irq_level_ = level;
    set_gpio_out("", 0, level);
  }
  timer_.del();
  if (!c.running || !c.loaded) return;
  // The next tick at which OUT changes, if any.
  int64_t n = c.count, next = -1;
  switch (eff_mode(c.mode)) {
    case 0:
    case 1:
      if (d < n) next = n;
      break;
    case 2: {
      if (n == 1) break;
      int64_t base = d - d % n;
      next = d % n < n - 1 ? base + n - 1 : base + n;
      break;
    }
    case 3: {
      int64_t base = d - d % n, half = (n + 1) / 2;
      next = d % n < half ? base + half : base + n;
      break;
    }
    default:
      if (d < n) {
        next = n;
      } else if (d == n) {
        next = n + 1;
      }
      break;
  }
  if (next < 0) return;
  next_transition_ns_ = c.run_start_ns + ticks_to_ns(next - c.ticks_base);
  timer_.mod(next_transition_ns_);
}

namespace {

TypeRegistration i8254_type{TypeInfo{
    .name = kTypeI8254,
    .parent = kTypeIsaDevice,
    .instance_new = [] { return new I8254(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.user_creatable = false;
          dc.description = "ISA 8254 programmable interval timer";
          dc.add_property(prop::integer<I8254, uint32_t>("iobase", &I8254::iobase, 0x40));
        },
}};

}  // namespace

}  // namespace machina
