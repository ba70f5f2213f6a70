// The local APIC timer on the manual virtual clock. The APIC bus clock is 1 GHz (as QEMU's and
// KVM's): with divide D, the count decrements every D ns and a one-shot timer with initial count
// N interrupts N * D ns after the initial count is written.
#include "intc_fixture.h"

namespace machina::test {
namespace {

namespace r = apic_reg;

class ApicTimerTest : public IntcTest {
 protected:
  void SetUp() override {
    IntcTest::SetUp();
    apic = make_apic(0);
    sw_enable();
  }
  Apic* apic = nullptr;
};

constexpr uint8_t kVec = 0xec;

TEST_F(ApicTimerTest, OneShotExpiresAfterCountTimesDivide) {
  lapic_wr(r::kLvtTimer, kVec);
  lapic_wr(r::kTimerDivide, 0x3);  // divide by 16
  lapic_wr(r::kTimerInitialCount, 1000);
  EXPECT_EQ(lapic_rd(r::kTimerCurrentCount), 1000u);
  clock_step(8000);
  EXPECT_EQ(lapic_rd(r::kTimerCurrentCount), 500u);
  clock_step(7999);
  EXPECT_EQ(lapic_rd(r::kTimerCurrentCount), 1u);
  EXPECT_FALSE(apic->irr_bit(kVec));
  clock_step(1);  // 16000 ns
  EXPECT_TRUE(apic->irr_bit(kVec));
  EXPECT_FALSE(apic->tmr_bit(kVec));
  EXPECT_TRUE(cpu(0).hard());
  EXPECT_EQ(lapic_rd(r::kTimerCurrentCount), 0u);
  EXPECT_EQ(lapic_rd(r::kTimerInitialCount), 1000u);
  // One-shot: nothing more.
  EXPECT_EQ(apic->acknowledge_interrupt(), kVec);
  lapic_wr(r::kEoi, 0);
  clock_step(1000000);
  EXPECT_FALSE(apic->irr_bit(kVec));
  EXPECT_EQ(apic->timer_deadline(), -1);
}

TEST_F(ApicTimerTest, DivideConfigurationValues) {
  // Bits 3, 1, 0: 000 -> 2, 001 -> 4, 010 -> 8, 011 -> 16, 100 -> 32, 101 -> 64, 110 -> 128,
  // 111 -> 1.
  const struct {
    uint32_t dcr;
    int64_t divide;
  } cases[] = {{0x0, 2}, {0x1, 4}, {0x2, 8}, {0x3, 16}, {0x8, 32}, {0x9, 64}, {0xa, 128}, {0xb, 1}};
  lapic_wr(r::kLvtTimer, kVec);
  for (const auto& c : cases) {
    lapic_wr(r::kTimerDivide, c.dcr);
    int64_t t0 = clock_get_ns(ClockType::Virtual);
    lapic_wr(r::kTimerInitialCount, 100);
    EXPECT_EQ(apic->timer_deadline(), t0 + 100 * c.divide) << "dcr " << c.dcr;
    clock_step(100 * c.divide);
    EXPECT_TRUE(apic->irr_bit(kVec)) << "dcr " << c.dcr;
    EXPECT_EQ(apic->acknowledge_interrupt(), kVec);
    lapic_wr(r::kEoi, 0);
  }
}

TEST_F(ApicTimerTest, PeriodicReloadsAndFiresEveryPeriod) {
  lapic_wr(r::kLvtTimer, kApicLvtTimerPeriodic | kVec);
  lapic_wr(r::kTimerDivide, 0xb);           // divide by 1
  lapic_wr(r::kTimerInitialCount, 250000);  // 250 us
  for (int i = 1; i <= 3; ++i) {
    clock_step(125000);
    EXPECT_EQ(lapic_rd(r::kTimerCurrentCount), 125000u);
    EXPECT_FALSE(apic->irr_bit(kVec)) << i;
    clock_step(125000);
    EXPECT_TRUE(apic->irr_bit(kVec)) << i;
    EXPECT_EQ(lapic_rd(r::kTimerCurrentCount), 250000u);  // reloaded
    EXPECT_EQ(apic->acknowledge_interrupt(), kVec);
    lapic_wr(r::kEoi, 0);
  }
  EXPECT_EQ(apic->timer_deadline(), 4 * 250000);
  // A new initial count restarts the period from now.
  clock_step(1000);
  lapic_wr(r::kTimerInitialCount, 300000);
  EXPECT_EQ(apic->timer_deadline(), 3 * 250000 + 1000 + 300000);
  // Count 0 stops it.
  lapic_wr(r::kTimerInitialCount, 0);
  EXPECT_EQ(apic->timer_deadline(), -1);
  EXPECT_EQ(lapic_rd(r::kTimerCurrentCount), 0u);
}

TEST_F(ApicTimerTest, MaskedTimerCountsButDoesNotInterrupt) {
  lapic_wr(r::kLvtTimer, kApicLvtMasked | kVec);
  lapic_wr(r::kTimerDivide, 0xb);
  lapic_wr(r::kTimerInitialCount, 1000);
  clock_step(400);
  EXPECT_EQ(lapic_rd(r::kTimerCurrentCount), 600u);
  clock_step(600);
  EXPECT_EQ(lapic_rd(r::kTimerCurrentCount), 0u);
  EXPECT_FALSE(apic->irr_bit(kVec));
  lapic_wr(r::kLvtTimer, kVec);  // unmasked after expiry: no interrupt
  clock_step(10000);
  EXPECT_FALSE(apic->irr_bit(kVec));

  // Periodic: masked periods pass silently, unmasking resumes at the next period boundary.
  lapic_wr(r::kLvtTimer, kApicLvtMasked | kApicLvtTimerPeriodic | kVec);
  int64_t t0 = clock_get_ns(ClockType::Virtual);
  lapic_wr(r::kTimerInitialCount, 200000);
  clock_step(450000);
  EXPECT_FALSE(apic->irr_bit(kVec));
  EXPECT_EQ(lapic_rd(r::kTimerCurrentCount), 150000u);
  lapic_wr(r::kLvtTimer, kApicLvtTimerPeriodic | kVec);
  EXPECT_EQ(apic->timer_deadline(), t0 + 600000);
  clock_step(150000);
  EXPECT_TRUE(apic->irr_bit(kVec));
}

TEST_F(ApicTimerTest, SoftwareDisableStopsTimerInterrupts) {
  lapic_wr(r::kLvtTimer, kVec);
  lapic_wr(r::kTimerDivide, 0xb);
  lapic_wr(r::kTimerInitialCount, 1000);
  lapic_wr(r::kSvr, 0xff);
  clock_step(2000);
  EXPECT_FALSE(apic->irr_bit(kVec));
  EXPECT_EQ(lapic_rd(r::kLvtTimer), kApicLvtMasked | kVec);
}

TEST_F(ApicTimerTest, TinyPeriodsAreRateLimited) {
  lapic_wr(r::kLvtTimer, kApicLvtTimerPeriodic | kVec);
  lapic_wr(r::kTimerDivide, 0xb);
  int64_t t0 = clock_get_ns(ClockType::Virtual);
  lapic_wr(r::kTimerInitialCount, 1);  // a 1 ns period
  int64_t first = apic->timer_deadline();
  EXPECT_EQ(first, t0 + kApicMinTimerPeriodNs);
  clock_set(first);
  EXPECT_TRUE(apic->irr_bit(kVec));
  EXPECT_EQ(apic->timer_deadline(), first + kApicMinTimerPeriodNs);
}

}  // namespace
}  // namespace machina::test
