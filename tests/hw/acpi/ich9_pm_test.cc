// The ICH9 PM register block through its I/O ports (ACPI 4.8, ICH9 datasheet 13.8.3): the PM
// timer's rate and TMR_STS on the virtual clock in manual mode, write-1-to-clear status bits, the
// SCI, soft-off through SLP_TYP/SLP_EN, and the power button (also through system_powerdown).
#include <gtest/gtest.h>

#include <memory>

#include "hw/acpi/ich9-pm.h"
#include "hw/acpi/powerdown-request.h"
#include "system/memory.h"
#include "system/runstate.h"
#include "util/bql.h"
#include "util/qemu-timer.h"

namespace machina {
namespace {

using namespace ich9_pm;

constexpr uint16_t kBase = 0x600;

// ceil(2^23 * 1e9 / 3579545): the first nanosecond at which the timer's bit 23 is set.
constexpr int64_t kFirstToggleNs = 2343484438;

class Ich9PmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    virtual_clock_reset_for_test();
    virtual_clock_set_mode(VirtualClockMode::Manual);
    auto r = sysbus_create(kTypeIch9Pm);
    ASSERT_TRUE(r.ok()) << r.message();
    pm_ = static_cast<Ich9Pm*>(r.value());
    sci_ = std::make_unique<IrqLine>([this](int, int level) { sci_level_ = level; }, 0);
    pm_->connect_gpio_out("", 0, sci_.get());
    pm_->map(kBase);
    ASSERT_TRUE(pm_->mapped());
  }
  void TearDown() override {
    Object* c = container_get("/machine/unattached");
    while (!c->children().empty()) c->children().back()->unparent();
    if (shutdown_requested()) (void)handle_shutdown_request();
    virtual_clock_reset_for_test();
  }

  static uint64_t in(uint16_t port, unsigned size) {
    uint64_t v = 0;
    EXPECT_EQ(address_space_io().read(port, size, &v), MemTxResult::Ok) << std::hex << port;
    return v;
  }
  static void out(uint16_t port, unsigned size, uint64_t v) {
    EXPECT_EQ(address_space_io().write(port, size, v), MemTxResult::Ok) << std::hex << port;
  }
  static uint16_t sts() { return uint16_t(in(kBase + kPm1Sts, 2)); }
  static uint32_t tmr() { return uint32_t(in(kBase + kPmTmr, 4)); }

  BqlGuard bql_;
  Ich9Pm* pm_ = nullptr;
  std::unique_ptr<IrqLine> sci_;
  int sci_level_ = 0;
};

TEST_F(Ich9PmTest, TimerCountsAt3579545HzAndWrapsAt24Bits) {
  EXPECT_EQ(tmr(), 0u);
  clock_step(kNsPerSec);
  EXPECT_EQ(tmr(), 3579545u);
  clock_step(kNsPerSec / 1000);  // 1 ms: 3579.545 ticks
  EXPECT_EQ(tmr(), 3579545u + 3579u);
  clock_set(5 * kNsPerSec);
  EXPECT_EQ(tmr(), (5u * 3579545u) & 0xffffff);  // wrapped once
  EXPECT_EQ(in(kBase + kPmTmr + 3, 1), 0u);      // bits 31:24 read 0
  uint32_t before = tmr();
  out(kBase + kPmTmr, 4, 0);  // read-only
  EXPECT_EQ(tmr(), before);
}

TEST_F(Ich9PmTest, TmrStsSetWhenBit23TogglesAndRaisesSciWhenEnabled) {
  clock_set(kFirstToggleNs - 1);
  EXPECT_EQ(tmr(), (1u << 23) - 1);
  EXPECT_FALSE(sts() & kTmrSts);
  clock_step(1);
  EXPECT_EQ(tmr(), 1u << 23);
  EXPECT_TRUE(sts() & kTmrSts);  // set although TMR_EN is clear
  EXPECT_EQ(sci_level_, 0);
  out(kBase + kPm1Sts, 2, kTmrSts);
  EXPECT_FALSE(sts() & kTmrSts);

  // With TMR_EN the SCI comes at the next toggle (bit 23 clearing at the wrap) by itself.
  out(kBase + kPm1En, 2, kTmrEn);
  clock_set(2 * kFirstToggleNs - 2);
  EXPECT_EQ(sci_level_, 0);
  clock_step(3);
  EXPECT_EQ(sci_level_, 1);
  EXPECT_EQ(tmr() >> 23, 0u);
  out(kBase + kPm1Sts, 2, kTmrSts);
  EXPECT_EQ(sci_level_, 0);
}

TEST_F(Ich9PmTest, StatusBitsAreWriteOneToClear) {
  pm_->power_button();
  EXPECT_EQ(sts(), kPwrbtnSts);
  out(kBase + kPm1Sts, 2, 0);  // writing 0 changes nothing
  EXPECT_EQ(sts(), kPwrbtnSts);
  out(kBase + kPm1Sts, 2, 0xfeff);  // other bits only
  EXPECT_EQ(sts(), kPwrbtnSts);
  out(kBase + kPm1Sts + 1, 1, 0x01);  // byte access to the high half
  EXPECT_EQ(sts(), 0);

  pm_->raise_gpe(3);
  pm_->raise_gpe(12);
  EXPECT_EQ(in(kBase + kGpe0Sts, 4), (1u << 3) | (1u << 12));
  out(kBase + kGpe0Sts, 1, 1u << 3);
  EXPECT_EQ(in(kBase + kGpe0Sts, 4), 1u << 12);
  out(kBase + kGpe0Sts + 1, 1, 0x10);
  EXPECT_EQ(in(kBase + kGpe0Sts, 4), 0u);
}

TEST_F(Ich9PmTest, EnableAndControlRegistersKeepTheirDefinedBits) {
  out(kBase + kPm1En, 2, 0xffff);
  EXPECT_EQ(in(kBase + kPm1En, 2), uint64_t(kTmrEn | kGblEn | kPwrbtnEn | kRtcEn | kPciexpWakDis));
  EXPECT_EQ(in(kBase + kPm1Cnt, 2), kSciEn);  // ACPI is on from reset
  out(kBase + kPm1Cnt, 2, kSciEn | (5u << kSlpTypShift) | kGblRls);
  EXPECT_EQ(in(kBase + kPm1Cnt, 2),
            uint64_t(kSciEn | (5u << kSlpTypShift)));  // GBL_RLS: write-only
  out(kBase + kGpe0En, 4, 0xdeadbeef);
  EXPECT_EQ(in(kBase + kGpe0En, 4), 0xdeadbeefu);
  EXPECT_EQ(in(kBase + 0x40, 4), 0u);  // unimplemented
}

TEST_F(Ich9PmTest, PowerButtonRaisesSciWhenEnabled) {
  pm_->power_button();
  EXPECT_TRUE(sts() & kPwrbtnSts);
  EXPECT_EQ(sci_level_, 0);  // PWRBTN_EN clear
  out(kBase + kPm1En, 2, kPwrbtnEn);
  EXPECT_EQ(sci_level_, 1);
  out(kBase + kPm1Sts, 2, kPwrbtnSts);
  EXPECT_EQ(sci_level_, 0);

  qemu_system_powerdown_request();  // QMP system_powerdown
  EXPECT_TRUE(sts() & kPwrbtnSts);
  EXPECT_EQ(sci_level_, 1);
  EXPECT_TRUE(pm_->sci_level());
}

TEST_F(Ich9PmTest, SciNeedsSciEnAndFollowsGpes) {
  out(kBase + kGpe0En, 1, 0x02);
  pm_->raise_gpe(1);
  EXPECT_EQ(sci_level_, 1);
  out(kBase + kPm1Cnt, 2, 0);  // SCI_EN clear: events go nowhere
  EXPECT_EQ(sci_level_, 0);
  pm_->set_acpi_mode(true);  // ACPI_ENABLE
  EXPECT_EQ(sci_level_, 1);
  out(kBase + kGpe0En, 1, 0);
  EXPECT_EQ(sci_level_, 0);
}

TEST_F(Ich9PmTest, SlpEnWithS5TypeRequestsGuestShutdown) {
  // Linux: SLP_TYP first, then SLP_TYP | SLP_EN.
  out(kBase + kPm1Cnt, 2, kSciEn | (0u << kSlpTypShift));
  EXPECT_FALSE(shutdown_requested());
  out(kBase + kPm1Cnt, 2, kSciEn | (0u << kSlpTypShift) | kSlpEn);
  EXPECT_TRUE(shutdown_requested());
  EXPECT_TRUE(handle_shutdown_request());
  EXPECT_EQ(in(kBase + kPm1Cnt, 2) & kSlpEn, 0u);  // SLP_EN is write-only
}

TEST_F(Ich9PmTest, Ich9S5EncodingAlsoShutsDownOtherTypesDoNot) {
  out(kBase + kPm1Cnt, 2, kSciEn | (5u << kSlpTypShift) | kSlpEn);  // S3: not supported
  EXPECT_FALSE(shutdown_requested());
  out(kBase + kPm1Cnt + 1, 1, (kSlpEn | (7u << kSlpTypShift)) >> 8);  // byte write, type 7
  EXPECT_TRUE(shutdown_requested());
  EXPECT_TRUE(handle_shutdown_request());
}

TEST_F(Ich9PmTest, ResetClearsEventsAndMapMovesTheBlock) {
  out(kBase + kPm1En, 2, kPwrbtnEn);
  pm_->power_button();
  EXPECT_EQ(sci_level_, 1);
  pm_->reset_tree();
  EXPECT_EQ(sts(), 0);
  EXPECT_EQ(in(kBase + kPm1En, 2), 0u);
  EXPECT_EQ(in(kBase + kPm1Cnt, 2), kSciEn);
  EXPECT_EQ(sci_level_, 0);

  pm_->map(0xb000);
  EXPECT_EQ(pm_->base(), 0xb000);
  EXPECT_EQ(in(0xb000 + kPm1Cnt, 2), kSciEn);
  uint64_t v = 0;
  EXPECT_NE(address_space_io().read(kBase + kPm1Cnt, 2, &v), MemTxResult::Ok);
  pm_->unmap();
  EXPECT_FALSE(pm_->mapped());
  EXPECT_NE(address_space_io().read(0xb000 + kPm1Cnt, 2, &v), MemTxResult::Ok);
}

}  // namespace
}  // namespace machina
