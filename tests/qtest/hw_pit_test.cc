// The 8254 PIT on q35 (Intel 8254 datasheet; 1.193182 MHz input clock): counting and reading in
// the access modes, the latch and read-back commands, modes 0-3 through counter 0's IRQ 0 and
// counter 2's OUT on port 0x61, and counter 2's gate.
#include "qtest/hw_pc_qtest.h"

namespace machina::qtest {
namespace {

constexpr int64_t kFreq = 1193182;

// The ticks counted in `ns` of virtual time.
int64_t ticks(int64_t ns) {
  return int64_t((__int128)ns * kFreq / 1000000000);
}
// The virtual time at which `t` ticks have been counted.
int64_t ns_for(int64_t t) {
  return int64_t(((__int128)t * 1000000000 + kFreq - 1) / kFreq);
}

class PitTest : public PcQtest {
 protected:
  void SetUp() override { start(); }

  void program(int ch, uint8_t mode_bits, uint16_t count) {
    outb(0x43, uint8_t((ch << 6) | 0x30 | mode_bits));  // LSB then MSB
    outb(uint16_t(0x40 + ch), uint8_t(count));
    outb(uint16_t(0x40 + ch), uint8_t(count >> 8));
  }
  uint16_t latch_and_read(int ch) {
    outb(0x43, uint8_t(ch << 6));  // counter latch command
    uint8_t lo = inb(uint16_t(0x40 + ch));
    uint8_t hi = inb(uint16_t(0x40 + ch));
    return uint16_t(lo | (hi << 8));
  }
  uint8_t status(int ch) {
    outb(0x43, uint8_t(0xe0 | (2 << ch)));  // read-back: status only
    return inb(uint16_t(0x40 + ch));
  }
};

TEST_F(PitTest, Mode2CountsDownAndReloads) {
  program(0, 0x04, 1193);
  EXPECT_EQ(latch_and_read(0), 1193);
  step(500000);
  EXPECT_EQ(latch_and_read(0), 1193 - ticks(500000));
  step(1000000);  // 1.5 ms: past one reload
  EXPECT_EQ(latch_and_read(0), 1193 - ticks(1500000) % 1193);
}

TEST_F(PitTest, Mode2PeriodicIrq0) {
  intercept_gsi();
  program(0, 0x04, 1193);  // ~1 kHz
  int before = raised_total(0);
  for (int i = 0; i < 10; ++i) step(1000000);
  // A rising edge of OUT at each multiple of 1193 ticks.
  EXPECT_EQ(raised_total(0) - before, ticks(10000000) / 1193);
  EXPECT_EQ(irq(0), 1);
}

TEST_F(PitTest, Mode0InterruptOnTerminalCount) {
  intercept_gsi();
  program(0, 0x00, 100);
  EXPECT_EQ(irq(0), 0) << "OUT goes low in mode 0";
  step(ns_for(100) - 1);
  EXPECT_EQ(irq(0), 0);
  step(1);
  EXPECT_EQ(irq(0), 1);
  int raised = raised_total(0);
  step(100000000);
  EXPECT_EQ(raised_total(0), raised) << "one-shot";
  EXPECT_EQ(irq(0), 1);
  // The counter wraps and keeps counting down.
  EXPECT_EQ(latch_and_read(0), uint16_t(100 - ticks(ns_for(100) + 100000000)));
}

TEST_F(PitTest, LatchHoldsTheValueUntilRead) {
  program(0, 0x04, 50000);
  step(1000000);
  outb(0x43, 0x00);
  step(1000000);
  outb(0x43, 0x00);  // a second latch before reading is ignored
  uint8_t lo = inb(0x40);
  uint8_t hi = inb(0x40);
  EXPECT_EQ(lo | (hi << 8), 50000 - ticks(1000000));
  EXPECT_EQ(latch_and_read(0), 50000 - ticks(2000000));
}

TEST_F(PitTest, LsbOnlyAndMsbOnlyAccess) {
  outb(0x43, 0x10 | 0x04);  // counter 0, LSB only, mode 2
  outb(0x40, 200);
  step(ns_for(50));
  EXPECT_EQ(inb(0x40), 150);
  EXPECT_EQ(inb(0x40), 150) << "LSB mode reads LSB every time";
  outb(0x43, 0x20 | 0x04);  // MSB only: count 0x1000
  outb(0x40, 0x10);
  step(ns_for(0x100));
  EXPECT_EQ(inb(0x40), 0x0f);
}

TEST_F(PitTest, ReadBackStatusAndCount) {
  outb(0x43, 0x34);  // counter 0, LSB/MSB, mode 2
  EXPECT_EQ(status(0), 0x80 | 0x40 | 0x34) << "OUT high, null count until a count is written";
  outb(0x40, 0x00);
  outb(0x40, 0x10);
  EXPECT_EQ(status(0), 0x80 | 0x34);
  // Read-back of status and count together: status first, then the count.
  step(ns_for(0x100));
  outb(0x43, 0xc2);
  EXPECT_EQ(inb(0x40), 0x80 | 0x34);
  EXPECT_EQ(inb(0x40), 0x00);
  EXPECT_EQ(inb(0x40), 0x0f);
  // Counter 2 after reset: mode 3, LSB/MSB.
  EXPECT_EQ(status(2) & 0x3f, 0x36);
}

TEST_F(PitTest, Counter2GateAndOutThroughPort61) {
  outb(0x61, (inb(0x61) & ~0x02) | 0x01);  // gate on, speaker off (Linux's PIT calibration)
  program(2, 0x00, 1193);                  // mode 0
  EXPECT_EQ(inb(0x61) & 0x20, 0) << "OUT2 low while counting";
  EXPECT_EQ(inb(0x61) & 0x03, 0x01);
  step(ns_for(1193) - 1);
  EXPECT_EQ(inb(0x61) & 0x20, 0);
  step(1);
  EXPECT_EQ(inb(0x61) & 0x20, 0x20);
  // Gate low pauses counting in mode 0.
  program(2, 0x00, 1000);
  step(ns_for(400));
  outb(0x61, 0x00);
  uint16_t held = latch_and_read(2);
  step(1000000);
  EXPECT_EQ(latch_and_read(2), held);
  EXPECT_EQ(inb(0x61) & 0x20, 0);
}

TEST_F(PitTest, Mode1OneShotTriggeredByGate) {
  outb(0x61, 0x00);
  program(2, 0x02, 100);
  EXPECT_EQ(inb(0x61) & 0x20, 0x20) << "OUT high until the gate triggers";
  step(1000000);
  EXPECT_EQ(inb(0x61) & 0x20, 0x20);
  outb(0x61, 0x01);  // rising edge of GATE2
  EXPECT_EQ(inb(0x61) & 0x20, 0);
  step(ns_for(100));
  EXPECT_EQ(inb(0x61) & 0x20, 0x20);
  // Retrigger.
  outb(0x61, 0x00);
  outb(0x61, 0x01);
  EXPECT_EQ(inb(0x61) & 0x20, 0);
}

TEST_F(PitTest, Mode3SquareWave) {
  outb(0x61, 0x01);
  program(2, 0x06, 1000);
  step(ns_for(200));
  EXPECT_EQ(inb(0x61) & 0x20, 0x20) << "high for the first half";
  step(ns_for(700) - ns_for(200));
  EXPECT_EQ(inb(0x61) & 0x20, 0) << "low for the second half";
  step(ns_for(1200) - ns_for(700));
  EXPECT_EQ(inb(0x61) & 0x20, 0x20);
  // Counts down by two.
  EXPECT_EQ(latch_and_read(2), 1000 - (2 * 1200) % 1000);
}

TEST_F(PitTest, Port61RefreshBitToggles) {
  uint8_t a = inb(0x61), b = inb(0x61);
  EXPECT_NE(a & 0x10, b & 0x10);
  outb(0x61, 0x02);
  EXPECT_EQ(inb(0x61) & 0x03, 0x02) << "speaker data bit reads back";
}

}  // namespace
}  // namespace machina::qtest
