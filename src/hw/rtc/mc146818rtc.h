// The MC146818 real-time clock and its CMOS memory (QEMU's "mc146818rtc"), at 0x70 (index; bit 7,
// the NMI mask, is ignored) and 0x71 (data).
//
// 128 bytes: 0x00-0x09 the time, date and alarm (BCD or binary, 12- or 24-hour, as register B
// says), 0x0a-0x0d registers A-D, 0x32 the century (IBM), the rest plain CMOS memory. The clock
// starts at the host's UTC time (QEMU's default -rtc base=utc) and runs on the virtual clock:
// seconds advance while the divider runs (register A DV = 0-2) and register B's SET bit is
// clear; the first update after leaving divider reset comes 500 ms later. UIP reads 1 in the last
// 244 us before an update. Periodic (rate from register A; as QEMU, only while PIE is set), alarm
// (with "don't care" values 0xc0-0xff) and update-ended events set PF/AF/UF in register C; IRQF and
// the IRQ output follow (PIE/AIE/UIE). Reading register C clears it and lowers the IRQ. Setting the
// time (leaving SET mode, or writing a time register while the clock runs) sends RTC_CHANGE with
// the new offset from the host's time in seconds. GPIO: unnamed output 0, connected to ISA IRQ
// `irq` (8) at realize.
#pragma once

#include <array>
#include <cstdint>

#include "hw/isa/isa-bus.h"
#include "util/qemu-timer.h"

namespace machina {

inline constexpr const char* kTypeMc146818Rtc = "mc146818rtc";

namespace rtc_reg {
inline constexpr int kSeconds = 0x00, kSecondsAlarm = 0x01, kMinutes = 0x02, kMinutesAlarm = 0x03,
                     kHours = 0x04, kHoursAlarm = 0x05, kDayOfWeek = 0x06, kDayOfMonth = 0x07,
                     kMonth = 0x08, kYear = 0x09, kA = 0x0a, kB = 0x0b, kC = 0x0c, kD = 0x0d,
                     kCentury = 0x32;
}

class Mc146818Rtc : public IsaDevice {
 public:
  uint32_t iobase = 0x70;
  uint32_t isairq = 8;

  Mc146818Rtc();

  // Raw CMOS bytes (QEMU's rtc_set_memory / rtc_get_memory), for the board's fields.
  void set_memory(int addr, uint8_t v);
  uint8_t get_memory(int addr) const;
  // The guest's current RTC time, seconds since the epoch.
  int64_t guest_time() const;

 protected:
  Status do_realize() override;
  void do_unrealize() override;
  void do_reset() override;

 private:
  uint8_t read_data();
  void write_data(uint8_t v);
  void write_reg_a(uint8_t v, int64_t t);
  void write_reg_b(uint8_t v, int64_t t);

  bool divider_running() const;
  bool time_running() const;
  int64_t div_ns(int64_t t) const;
  int64_t current_sec(int64_t t) const;
  // Time registers <-> seconds since the epoch, in the format register B selects.
  void fill_time_regs(int64_t sec);
  int64_t parse_time_regs() const;
  uint8_t to_bcd(int v) const;
  int from_bcd(uint8_t v) const;
  uint8_t encode_hour(int hour) const;
  bool alarm_matches(int64_t sec) const;
  int64_t next_alarm_after(int64_t sec) const;  // INT64_MAX: none within a day
  // Starts counting the time from the registers' values now.
  void set_time_from_regs(int64_t t, bool send_event);
  void freeze_time(int64_t t);

  // Sets PF/UF/AF for what happened since the last sync, updates IRQF and the IRQ, rearms the
  // timer for the next enabled event.
  void sync(int64_t t);
  void update_irq();
  void rearm(int64_t t);

  MemoryRegion io_;
  Timer timer_{ClockType::Virtual, [this] { sync(clock_get_ns(ClockType::Virtual)); }};
  std::array<uint8_t, 128> cmos_{};
  uint8_t index_ = 0;

  // The divider chain's position, in ns of 32.768 kHz time base: div_at_ref_ at virtual time
  // div_ref_ns_ (it stands still while the divider does not run).
  int64_t div_ref_ns_ = 0;
  int64_t div_at_ref_ = 0;
  // While the time runs: the time is base_sec_ when the divider's second count is base_div_sec_.
  // While it does not: base_sec_ is the frozen time.
  int64_t base_sec_ = 0;
  int64_t base_div_sec_ = 0;
  int64_t last_sync_div_ = 0;
  int irq_level_ = 0;
};

}  // namespace machina
