// The 8254 programmable interval timer (QEMU's "isa-pit") at 0x40-0x43, clocked at 1.193182 MHz
// from the virtual clock.
//
// Ports: 0x40-0x42 counters 0-2 (count write / read as programmed: LSB, MSB or LSB then MSB),
// 0x43 control word (counter select, access mode, mode 0-5, BCD flag; counter select 3 is the
// read-back command; access mode 0 is the counter latch command).
// Counter 0's OUT drives the unnamed GPIO output 0 (ISA IRQ 0 on a PC). Counter 1's gate is tied
// high; counter 2's gate and OUT go through port 0x61 (see i8254-speaker-port.h). The BCD flag is
// kept and reported in the status byte, but counting is binary (as QEMU).
#pragma once

#include <array>
#include <cstdint>

#include "hw/isa/isa-bus.h"
#include "util/qemu-timer.h"

namespace machina {

inline constexpr const char* kTypeI8254 = "isa-pit";
inline constexpr int64_t kPitFreq = 1193182;  // Hz

class I8254 : public IsaDevice {
 public:
  uint32_t iobase = 0x40;

  I8254();

  // Counter `ch`'s GATE input (counter 2: port 0x61 bit 0) and its OUT level now.
  void set_gate(int ch, bool level);
  bool gate(int ch) const { return ch_[size_t(ch)].gate; }
  bool out(int ch) const;

 protected:
  Status do_realize() override;
  void do_unrealize() override;
  void do_reset() override;

 private:
  struct Counter {
    uint32_t count = 0x10000;  // initial count (0 means 0x10000)
    uint8_t mode = 0;
    bool bcd = false;
    uint8_t rw_mode = 3;  // 1: LSB, 2: MSB, 3: LSB then MSB
    bool write_msb_next = false;
    bool read_msb_next = false;
    uint8_t write_lsb = 0;
    bool gate = false;
    bool null_count = true;    // a new count was written and not loaded yet
    bool loaded = false;       // a count was written since the control word
    bool armed = false;        // counting (modes 1, 5: after a gate trigger)
    int64_t ticks_base = 0;    // ticks counted before run_start_ns
    int64_t run_start_ns = 0;  // virtual time counting (re)started, if running
    bool running = false;
    bool count_latched = false;
    uint16_t latched_count = 0;
    bool latched_msb_next = false;
    uint8_t latched_rw = 0;
    bool status_latched = false;
    uint8_t status = 0;
  };

  int64_t now() const;
  int64_t elapsed(const Counter& c, int64_t now) const;  // ticks since the count was loaded
  bool out_at(const Counter& c, int64_t d) const;
  uint16_t count_at(const Counter& c, int64_t d) const;
  bool out_now(int ch) const;
  void start(Counter& c, int64_t now);
  void pause(Counter& c, int64_t now);
  void load_count(int ch, uint32_t v);
  void latch_count(int ch);
  void write_control(uint8_t v);
  void write_counter(int ch, uint8_t v);
  uint8_t read_counter(int ch);
  // Counter 0 drives IRQ 0: sets the line and arms the timer for its next OUT transition.
  // Updates OUT0 (IRQ0) as of `at` (default: now) and schedules its next change. The timer
  // evaluates at the transition it was set for, so a late callback still produces the pulse.
  void update_irq(int64_t at = -1);

  std::array<Counter, 3> ch_{};
  MemoryRegion io_;
  Timer timer_{ClockType::Virtual, [this] { update_irq(next_transition_ns_); }};
  int64_t next_transition_ns_ = -1;
  int irq_level_ = -1;
};

}  // namespace machina
