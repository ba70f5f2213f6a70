// MC146818 RTC/CMOS on q35, through its registers at 0x70/0x71 (MC146818A datasheet; QEMU's
// behaviour where the datasheet leaves a choice): power-on registers, host UTC time at start, the
// update cycle with UIP, update-ended, alarm and periodic interrupts on the virtual clock, data
// formats, divider reset, and RTC_CHANGE.
#include <ctime>

#include "qtest/hw_pc_qtest.h"

namespace machina::qtest {
namespace {

constexpr uint8_t kSec = 0, kSecAlarm = 1, kMin = 2, kMinAlarm = 3, kHour = 4, kHourAlarm = 5,
                  kMday = 7, kMonth = 8, kYear = 9, kA = 0x0a, kB = 0x0b, kC = 0x0c, kD = 0x0d,
                  kCentury = 0x32;
constexpr int kRtcIrq = 8;
constexpr int64_t kSecNs = 1000000000;

int bcd(uint8_t v) {
  return (v >> 4) * 10 + (v & 0xf);
}

class RtcReader : public PcQtest {
 protected:
  // The RTC's date and time (24-hour BCD, the power-on format) as seconds since the epoch.
  int64_t rtc_time() {
    struct tm tm {};
    tm.tm_sec = bcd(cmos(kSec));
    tm.tm_min = bcd(cmos(kMin));
    tm.tm_hour = bcd(cmos(kHour));
    tm.tm_mday = bcd(cmos(kMday));
    tm.tm_mon = bcd(cmos(kMonth)) - 1;
    tm.tm_year = bcd(cmos(kCentury)) * 100 + bcd(cmos(kYear)) - 1900;
    return int64_t(timegm(&tm));
  }
};

class RtcTest : public RtcReader {
 protected:
  void SetUp() override { start(); }

  // Sets 12:00:00 on 2010-05-04 in 24-hour BCD with register B = B_AFTER.
  void set_noon(uint8_t b_after) {
    set_cmos(kB, 0x82);  // SET, 24h, BCD
    set_cmos(kSec, 0x00);
    set_cmos(kMin, 0x00);
    set_cmos(kHour, 0x12);
    set_cmos(kMday, 0x04);
    set_cmos(kMonth, 0x05);
    set_cmos(kYear, 0x10);
    set_cmos(kCentury, 0x20);
    set_cmos(kB, b_after);
  }
};

TEST_F(RtcTest, PowerOnRegisters) {
  EXPECT_EQ(cmos(kA), 0x26);  // 32.768 kHz time base, 1024 Hz rate
  EXPECT_EQ(cmos(kB), 0x02);  // 24-hour, BCD, no interrupts
  EXPECT_EQ(cmos(kC), 0x00);
  EXPECT_EQ(cmos(kD), 0x80);  // valid RAM and time
  EXPECT_EQ(inb(0x70), 0xff);
}

TEST_F(RtcTest, StartsAtHostUtcTime) {
  std::time_t now = std::time(nullptr);
  int64_t guest = rtc_time();
  EXPECT_LE(std::llabs(int64_t(guest) - int64_t(now)), 3) << "guest " << guest << " host " << now;
  EXPECT_EQ(cmos(kCentury), 0x20);
}

TEST_F(RtcTest, CmosMemoryIsReadWrite) {
  for (uint8_t idx : {0x0e, 0x40, 0x7f}) {
    set_cmos(idx, uint8_t(idx ^ 0xa5));
    EXPECT_EQ(cmos(idx), uint8_t(idx ^ 0xa5));
  }
  // Bit 7 of the index (NMI mask) does not select another byte.
  outb(0x70, 0x80 | 0x40);
  EXPECT_EQ(inb(0x71), 0x40 ^ 0xa5);
}

TEST_F(RtcTest, UpdateCycleWithUip) {
  set_noon(0x02);  // leaves SET at virtual time 0: updates at every whole second from now
  step(999700000);
  EXPECT_EQ(cmos(kA) & 0x80, 0) << "UIP only in the last 244 us before the update";
  EXPECT_EQ(cmos(kSec), 0x00);
  step(100000);  // 999.8 ms
  EXPECT_EQ(cmos(kA) & 0x80, 0x80);
  EXPECT_EQ(cmos(kSec), 0x00);
  step(200000);  // 1.0 s
  EXPECT_EQ(cmos(kA) & 0x80, 0);
  EXPECT_EQ(cmos(kSec), 0x01);
  EXPECT_EQ(cmos(kC), 0x10) << "UF without UIE: flag only, no IRQF";
  EXPECT_EQ(cmos(kC), 0x00) << "reading C clears it";
  step(59 * kSecNs);
  EXPECT_EQ(cmos(kSec), 0x00);
  EXPECT_EQ(cmos(kMin), 0x01);
  EXPECT_EQ(cmos(kHour), 0x12);
}

TEST_F(RtcTest, UpdateEndedInterrupt) {
  intercept_gsi();
  set_noon(0x12);  // UIE, 24h, BCD
  step(kSecNs - 1);
  EXPECT_EQ(irq(kRtcIrq), 0);
  step(1);
  EXPECT_EQ(irq(kRtcIrq), 1);
  EXPECT_EQ(cmos(kC), 0x90);  // IRQF | UF
  EXPECT_EQ(irq(kRtcIrq), 0) << "reading C lowers the IRQ";
  step(kSecNs);
  EXPECT_EQ(irq(kRtcIrq), 1);
  EXPECT_EQ(cmos(kSec), 0x02);
  EXPECT_EQ(cmos(kC), 0x90);
}

TEST_F(RtcTest, SetModeStopsTheClockAndClearsUie) {
  set_noon(0x02);
  step(3 * kSecNs);
  EXPECT_EQ(cmos(kSec), 0x03);
  set_cmos(kB, 0x80 | 0x10 | 0x02);  // SET with UIE: the datasheet clears UIE
  EXPECT_EQ(cmos(kB), 0x82);
  step(5 * kSecNs);
  EXPECT_EQ(cmos(kSec), 0x03);
  EXPECT_EQ(cmos(kC), 0x10) << "the update before SET was flagged";
  EXPECT_EQ(cmos(kC), 0x00) << "no update while SET";
}

TEST_F(RtcTest, AlarmInterrupt) {
  intercept_gsi();
  set_cmos(kSecAlarm, 0x05);
  set_cmos(kMinAlarm, 0x00);
  set_cmos(kHourAlarm, 0x12);
  set_noon(0x22);  // AIE
  step(4 * kSecNs);
  EXPECT_EQ(irq(kRtcIrq), 0);
  step(kSecNs);
  EXPECT_EQ(irq(kRtcIrq), 1);
  EXPECT_EQ(cmos(kSec), 0x05);
  EXPECT_EQ(cmos(kC), 0xb0);  // IRQF | AF | UF
  step(kSecNs);
  EXPECT_EQ(irq(kRtcIrq), 0) << "the alarm does not match at 12:00:06";
  EXPECT_EQ(cmos(kC) & 0x20, 0);
}

TEST_F(RtcTest, AlarmDontCareMatchesEveryMinute) {
  intercept_gsi();
  set_cmos(kSecAlarm, 0x30);
  set_cmos(kMinAlarm, 0xc0);   // any minute
  set_cmos(kHourAlarm, 0xff);  // any hour
  set_noon(0x22);
  step(30 * kSecNs);
  EXPECT_EQ(irq(kRtcIrq), 1);
  EXPECT_EQ(cmos(kC) & 0xa0, 0xa0);
  step(59 * kSecNs);
  EXPECT_EQ(irq(kRtcIrq), 0);
  step(kSecNs);  // 12:01:30
  EXPECT_EQ(irq(kRtcIrq), 1);
  EXPECT_EQ(cmos(kMin), 0x01);
}

TEST_F(RtcTest, PeriodicInterruptRates) {
  intercept_gsi();
  set_cmos(kA, 0x2f);  // rate 15: 2 Hz
  set_cmos(kB, 0x42);  // PIE
  step(kSecNs / 2 - 1);
  EXPECT_EQ(irq(kRtcIrq), 0);
  step(1);
  EXPECT_EQ(irq(kRtcIrq), 1);
  EXPECT_EQ(cmos(kC), 0xc0);  // IRQF | PF
  EXPECT_EQ(irq(kRtcIrq), 0);
  // Rate 6: 1024 Hz, a period of 32 cycles of 32.768 kHz (976.5625 us); the clock is at 0.5 s,
  // a multiple of it.
  set_cmos(kA, 0x26);
  step(976562);
  EXPECT_EQ(irq(kRtcIrq), 0);
  step(1);
  EXPECT_EQ(irq(kRtcIrq), 1);
  EXPECT_EQ(cmos(kC) & 0x40, 0x40);
  // Rate 0 stops it.
  set_cmos(kA, 0x20);
  step(kSecNs / 10);
  EXPECT_EQ(irq(kRtcIrq), 0);
}

TEST_F(RtcTest, PendingFlagRaisesIrqWhenEnabled) {
  intercept_gsi();
  set_noon(0x02);
  step(kSecNs);  // UF set, UIE off
  EXPECT_EQ(irq(kRtcIrq), 0);
  set_cmos(kB, 0x12);
  EXPECT_EQ(irq(kRtcIrq), 1);
  EXPECT_EQ(cmos(kC), 0x90);
}

TEST_F(RtcTest, BinaryAnd12HourFormats) {
  set_cmos(kB, 0x80 | 0x04);  // SET, binary, 12-hour
  set_cmos(kSec, 59);
  set_cmos(kMin, 59);
  set_cmos(kHour, 0x80 | 11);  // 11 PM
  set_cmos(kMday, 31);
  set_cmos(kMonth, 12);
  set_cmos(kYear, 99);
  set_cmos(kCentury, 19);
  set_cmos(kB, 0x04);
  step(kSecNs);  // 1999-12-31 23:59:59 -> 2000-01-01 00:00:00, 12 AM
  EXPECT_EQ(cmos(kSec), 0);
  EXPECT_EQ(cmos(kHour), 12) << "midnight is 12 AM";
  EXPECT_EQ(cmos(kMday), 1);
  EXPECT_EQ(cmos(kMonth), 1);
  EXPECT_EQ(cmos(kYear), 0);
  EXPECT_EQ(cmos(kCentury), 20);
  set_cmos(kB, 0x80 | 0x04);
  set_cmos(kSec, 59);
  set_cmos(kMin, 59);
  set_cmos(kHour, 0x80 | 12);  // 12:59:59 PM
  set_cmos(kB, 0x04);
  step(kSecNs);
  EXPECT_EQ(cmos(kHour), 0x80 | 1) << "1 PM";
  set_cmos(kB, 0x06);  // binary, 24-hour
  EXPECT_EQ(cmos(kHour), 13);
  set_cmos(kB, 0x02);  // BCD, 24-hour
  EXPECT_EQ(cmos(kHour), 0x13);
  set_cmos(kB, 0x00);  // BCD, 12-hour
  EXPECT_EQ(cmos(kHour), 0x81);
}

TEST_F(RtcTest, DividerResetDelaysFirstUpdate) {
  set_noon(0x02);
  set_cmos(kA, 0x76);  // divider reset
  step(3 * kSecNs);
  EXPECT_EQ(cmos(kSec), 0x00) << "no update while the divider is held in reset";
  set_cmos(kA, 0x26);
  step(kSecNs / 2 - 1);
  EXPECT_EQ(cmos(kSec), 0x00);
  step(1);
  EXPECT_EQ(cmos(kSec), 0x01) << "the first update comes 500 ms after the reset ends";
}

TEST_F(RtcTest, SettingTheTimeSendsRtcChange) {
  set_noon(0x02);  // 2010-05-04 12:00:00 UTC
  auto ev = m().wait_event("RTC_CHANGE");
  ASSERT_TRUE(ev.has_value());
  int64_t expected = 1272974400 - int64_t(std::time(nullptr));
  int64_t offset = (*ev)["data"]["offset"].get<int64_t>();
  EXPECT_LE(std::llabs(offset - expected), 3) << ev->dump();
}

TEST_F(RtcTest, RegistersCAndDAreReadOnly) {
  set_cmos(kD, 0x00);
  EXPECT_EQ(cmos(kD), 0x80);
  set_cmos(kC, 0xff);
  EXPECT_EQ(cmos(kC), 0x00);
}

}  // namespace
}  // namespace machina::qtest

// -rtc base=: where the RTC starts (QEMU's configure_rtc).
namespace machina::qtest {
namespace {

using RtcBaseTest = RtcReader;

TEST_F(RtcBaseTest, GivenDateAndTime) {
  start("-rtc base=2020-01-02T03:04:05");
  EXPECT_LE(std::llabs(rtc_time() - 1577934245), 1);
  EXPECT_EQ(cmos(kYear), 0x20);
  EXPECT_EQ(cmos(kMonth), 0x01);
  EXPECT_EQ(cmos(kMday), 0x02);
  EXPECT_EQ(cmos(kHour), 0x03);
}

TEST_F(RtcBaseTest, GivenDateOnlyStartsAtMidnight) {
  start("-rtc base=1999-12-31");
  EXPECT_LE(std::llabs(rtc_time() - 946598400), 1);
  EXPECT_EQ(cmos(kCentury), 0x19);
}

TEST_F(RtcBaseTest, LocaltimeFollowsTheHostTimeZone) {
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  setenv("TZ", "UTC-2", 1);  // two hours east of UTC
  start("-rtc base=localtime,clock=vm,driftfix=none");
  if (old)
    setenv("TZ", saved.c_str(), 1);
  else
    unsetenv("TZ");
  int64_t diff = rtc_time() - int64_t(std::time(nullptr));
  EXPECT_LE(std::llabs(diff - 7200), 3) << diff;
}

TEST_F(RtcBaseTest, RtcChangeOffsetIsRelativeToTheBase) {
  start("-rtc base=2010-05-04T11:00:00");
  set_cmos(kB, 0x82);  // SET: the guest moves the clock to 12:00:00, one hour on
  set_cmos(kSec, 0x00);
  set_cmos(kMin, 0x00);
  set_cmos(kHour, 0x12);
  set_cmos(kB, 0x02);
  auto ev = m().wait_event("RTC_CHANGE");
  ASSERT_TRUE(ev.has_value());
  EXPECT_LE(std::llabs((*ev)["data"]["offset"].get<int64_t>() - 3600), 3) << ev->dump();
}

TEST(RtcBase, BadOptionsAreRefusedWithQemusTexts) {
  auto r = run_machina({"-M", "none", "-rtc", "base=yesterday"});
  EXPECT_EQ(r.status.code, 1);
  EXPECT_NE(r.err.find("invalid datetime format\nvalid formats: '2006-06-17T16:01:21' or "
                       "'2006-06-17'"),
            std::string::npos)
      << r.err;
  r = run_machina({"-M", "none", "-rtc", "clock=wall"});
  EXPECT_EQ(r.status.code, 1);
  EXPECT_NE(r.err.find("invalid option value 'wall'"), std::string::npos) << r.err;
  r = run_machina({"-M", "none", "-rtc", "driftfix=slew"});
  EXPECT_EQ(r.status.code, 1);
  EXPECT_NE(r.err.find("driftfix=slew is not supported"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace machina::qtest
