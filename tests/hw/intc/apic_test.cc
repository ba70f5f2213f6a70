// The local APIC through its xAPIC registers and the CPU's interface: power-on state, SVR and LVT
// rules, priorities (TPR/PPR), IRR -> ISR -> EOI, spurious interrupts, ESR, CR8, IA32_APIC_BASE,
// ExtINT from the 8259 through LINT0, LINT1 NMI, and reset.
#include "intc_fixture.h"

namespace machina::test {
namespace {

namespace r = apic_reg;
using x86::kCpuIrqHard;
using x86::kCpuIrqInit;
using x86::kCpuIrqNmi;

using ApicTest = IntcTest;

// Sends a fixed IPI to this APIC itself (ICR shorthand "self").
void self_ipi(uint8_t vector) {
  IntcTest::lapic_wr(r::kIcrLow, (1u << 18) | vector);
}

TEST_F(ApicTest, PowerOnStateOfAnApplicationProcessor) {
  Apic* apic = make_apic(3);
  EXPECT_EQ(apic->apic_base(), 0xfee00800u);  // enabled, not BSP
  EXPECT_EQ(lapic_rd(r::kId), 3u << 24);
  EXPECT_EQ(lapic_rd(r::kVersion), 0x00050014u);
  EXPECT_EQ(lapic_rd(r::kTpr), 0u);
  EXPECT_EQ(lapic_rd(r::kPpr), 0u);
  EXPECT_EQ(lapic_rd(r::kLdr), 0u);
  EXPECT_EQ(lapic_rd(r::kDfr), 0xffffffffu);
  EXPECT_EQ(lapic_rd(r::kSvr), 0xffu);
  for (uint32_t lvt = r::kLvtTimer; lvt <= r::kLvtError; lvt += 0x10) {
    EXPECT_EQ(lapic_rd(lvt), 0x10000u) << std::hex << lvt;
  }
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(lapic_rd(r::kIsr + 0x10 * i), 0u);
    EXPECT_EQ(lapic_rd(r::kTmr + 0x10 * i), 0u);
    EXPECT_EQ(lapic_rd(r::kIrr + 0x10 * i), 0u);
  }
  EXPECT_EQ(lapic_rd(r::kTimerInitialCount), 0u);
  EXPECT_EQ(lapic_rd(r::kTimerCurrentCount), 0u);
  EXPECT_EQ(lapic_rd(r::kTimerDivide), 0u);
  EXPECT_EQ(lapic_rd(r::kIcrLow), 0u);
  EXPECT_EQ(lapic_rd(r::kIcrHigh), 0u);
  EXPECT_FALSE(cpu(0).hard());
}

TEST_F(ApicTest, BootProcessorHasBspBitAndVirtualWireLint0) {
  Apic* apic = make_apic(0, /*bsp=*/true);
  EXPECT_EQ(apic->apic_base(), 0xfee00900u);
  EXPECT_EQ(lapic_rd(r::kLvtLint0), 0x700u);  // ExtINT, unmasked (QEMU's reset)
  EXPECT_EQ(lapic_rd(r::kLvtLint1), 0x10000u);
}

TEST_F(ApicTest, RealizeNeedsAValidUniqueId) {
  auto o = object_new(kTypeApic);
  ASSERT_TRUE(o.ok());
  auto* a = static_cast<Apic*>(o.value().get());
  EXPECT_EQ(a->realize().message(), "apic initialization failed. APIC ID 255 is invalid");
  make_apic(4, false, 0);
  auto o2 = object_new(kTypeApic);
  auto* b = static_cast<Apic*>(o2.value().get());
  ASSERT_TRUE(b->property_parse("id", "4").ok());
  EXPECT_EQ(b->realize().message(), "APIC ID 4 is already in use");
}

TEST_F(ApicTest, WritableRegisterBits) {
  make_apic(1);
  sw_enable();
  lapic_wr(r::kId, 0xffffffff);
  EXPECT_EQ(lapic_rd(r::kId), 0xff000000u);
  lapic_wr(r::kId, 1u << 24);
  lapic_wr(r::kLdr, 0xffffffff);
  EXPECT_EQ(lapic_rd(r::kLdr), 0xff000000u);
  lapic_wr(r::kDfr, 0x0);
  EXPECT_EQ(lapic_rd(r::kDfr), 0x0fffffffu);  // cluster model; bits 27:0 read as ones
  lapic_wr(r::kVersion, 0);
  EXPECT_EQ(lapic_rd(r::kVersion), 0x00050014u);
  // LVT fields per SDM figure "Local Vector Table": delivery status (bit 12) and remote IRR
  // (bit 14) are read-only; the timer has no TSC-deadline mode here.
  const uint32_t expected[] = {0x300ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff};
  for (int i = 0; i < 6; ++i) {
    lapic_wr(r::kLvtTimer + 0x10 * i, 0xffffffff);
    EXPECT_EQ(lapic_rd(r::kLvtTimer + 0x10 * i), expected[i]) << i;
  }
  lapic_wr(r::kTimerDivide, 0xffffffff);
  EXPECT_EQ(lapic_rd(r::kTimerDivide), 0xbu);
  lapic_wr(r::kIcrHigh, 0xffffffff);
  EXPECT_EQ(lapic_rd(r::kIcrHigh), 0xff000000u);
}

TEST_F(ApicTest, SoftwareDisableMasksEveryLvt) {
  make_apic(1);
  // Software-disabled at power-on: masks cannot be cleared.
  lapic_wr(r::kLvtLint1, 0x400);
  EXPECT_EQ(lapic_rd(r::kLvtLint1), 0x10400u);
  sw_enable();
  lapic_wr(r::kLvtLint1, 0x400);
  lapic_wr(r::kLvtTimer, 0x30);
  EXPECT_EQ(lapic_rd(r::kLvtLint1), 0x400u);
  EXPECT_EQ(lapic_rd(r::kLvtTimer), 0x30u);
  lapic_wr(r::kSvr, 0xff);  // disable
  EXPECT_EQ(lapic_rd(r::kLvtLint1), 0x10400u);
  EXPECT_EQ(lapic_rd(r::kLvtTimer), 0x10030u);
}

TEST_F(ApicTest, FixedInterruptsGoThroughIrrIsrAndEoiInPriorityOrder) {
  Apic* apic = make_apic(0);
  sw_enable();
  self_ipi(0x31);
  EXPECT_TRUE(apic->irr_bit(0x31));
  EXPECT_EQ(lapic_rd(r::kIrr + 0x10), 1u << 17);  // vector 0x31: IRR word 1, bit 17
  EXPECT_TRUE(cpu(0).hard());
  EXPECT_EQ(apic->acknowledge_interrupt(), 0x31);
  EXPECT_FALSE(apic->irr_bit(0x31));
  EXPECT_EQ(lapic_rd(r::kIsr + 0x10), 1u << 17);
  EXPECT_EQ(lapic_rd(r::kPpr), 0x30u);
  EXPECT_FALSE(cpu(0).hard());

  self_ipi(0x32);  // same priority class as the one in service: held
  EXPECT_TRUE(apic->irr_bit(0x32));
  EXPECT_FALSE(cpu(0).hard());
  self_ipi(0x41);  // higher class: nests
  EXPECT_TRUE(cpu(0).hard());
  EXPECT_EQ(apic->acknowledge_interrupt(), 0x41);
  EXPECT_EQ(lapic_rd(r::kPpr), 0x40u);
  EXPECT_FALSE(cpu(0).hard());

  lapic_wr(r::kEoi, 0);  // ends 0x41; 0x31 still in service holds 0x32
  EXPECT_FALSE(apic->isr_bit(0x41));
  EXPECT_TRUE(apic->isr_bit(0x31));
  EXPECT_FALSE(cpu(0).hard());
  lapic_wr(r::kEoi, 0);  // ends 0x31: 0x32 is next
  EXPECT_EQ(lapic_rd(r::kPpr), 0u);
  EXPECT_TRUE(cpu(0).hard());
  EXPECT_EQ(apic->acknowledge_interrupt(), 0x32);
  lapic_wr(r::kEoi, 0);
  EXPECT_EQ(apic->acknowledge_interrupt(), -1);
  EXPECT_FALSE(cpu(0).hard());
}

TEST_F(ApicTest, HighestVectorIsTakenFirst) {
  Apic* apic = make_apic(0);
  sw_enable();
  self_ipi(0x50);
  self_ipi(0xe1);
  self_ipi(0x7f);
  EXPECT_EQ(apic->acknowledge_interrupt(), 0xe1);
  lapic_wr(r::kEoi, 0);
  EXPECT_EQ(apic->acknowledge_interrupt(), 0x7f);
  lapic_wr(r::kEoi, 0);
  EXPECT_EQ(apic->acknowledge_interrupt(), 0x50);
}

TEST_F(ApicTest, TaskPriorityBlocksLowerClassesAndFollowsCr8) {
  Apic* apic = make_apic(0);
  sw_enable();
  lapic_wr(r::kTpr, 0x5a);
  EXPECT_EQ(lapic_rd(r::kPpr), 0x5au);  // TPR above the (empty) ISR: PPR = TPR
  EXPECT_EQ(apic->cr8(), 5);
  self_ipi(0x45);
  self_ipi(0x5f);
  EXPECT_FALSE(cpu(0).hard());
  EXPECT_EQ(lapic_rd(r::kApr), 0x5au);
  apic->set_cr8(4);  // CR8 writes TPR[7:4] and clears TPR[3:0]
  EXPECT_EQ(lapic_rd(r::kTpr), 0x40u);
  EXPECT_TRUE(cpu(0).hard());  // 0x5f is above class 4
  EXPECT_EQ(apic->acknowledge_interrupt(), 0x5f);
  // In service 0x5f outranks TPR 0x40: PPR = 0x50.
  EXPECT_EQ(lapic_rd(r::kPpr), 0x50u);
  lapic_wr(r::kEoi, 0);
  EXPECT_FALSE(cpu(0).hard());  // 0x45 is not above class 4
  apic->set_cr8(0);
  EXPECT_TRUE(cpu(0).hard());
  EXPECT_EQ(apic->acknowledge_interrupt(), 0x45);
}

TEST_F(ApicTest, AcknowledgeAfterThePriorityRoseGivesTheSpuriousVector) {
  Apic* apic = make_apic(0);
  lapic_wr(r::kSvr, 0x1ef);
  self_ipi(0x45);
  EXPECT_TRUE(cpu(0).hard());
  // The CPU saw INTR, then TPR rose before the acknowledge cycle.
  lapic_wr(r::kTpr, 0x60);
  EXPECT_EQ(apic->acknowledge_interrupt(), 0xef);
  EXPECT_TRUE(apic->irr_bit(0x45));  // still pending, not in service
  EXPECT_FALSE(apic->isr_bit(0x45));
  EXPECT_EQ(lapic_rd(r::kIsr + 0x70), 0u);
}

TEST_F(ApicTest, SoftwareDisabledApicHoldsNoFixedInterrupts) {
  Apic* apic = make_apic(0);
  self_ipi(0x40);  // SVR bit 8 clear: dropped
  EXPECT_FALSE(apic->irr_bit(0x40));
  EXPECT_EQ(apic->acknowledge_interrupt(), -1);
  lapic_wr(r::kIcrLow, (1u << 18) | (4u << 8));  // NMI still accepted
  EXPECT_TRUE(cpu(0).has(kCpuIrqNmi));
}

TEST_F(ApicTest, ErrorStatusIsWrittenThenRead) {
  Apic* apic = make_apic(0);
  sw_enable();
  lapic_wr(r::kLvtError, 0xfe);
  self_ipi(0x05);  // illegal vector: not sent
  EXPECT_FALSE(apic->irr_bit(0x05));
  EXPECT_EQ(lapic_rd(r::kEsr), 0u);  // not latched yet
  EXPECT_TRUE(apic->irr_bit(0xfe));  // the error LVT fired
  lapic_wr(r::kEsr, 0);
  EXPECT_EQ(lapic_rd(r::kEsr), kApicEsrSendIllegalVector);
  lapic_wr(r::kEsr, 0);
  EXPECT_EQ(lapic_rd(r::kEsr), 0u);
  // A reserved register, and an LVT with an illegal vector on reception.
  EXPECT_EQ(lapic_rd(0x040), 0u);
  lapic_wr(r::kLvtLint0, 0x0008);  // fixed, vector 8
  apic->gpio_in("", 0)->raise();
  EXPECT_FALSE(apic->irr_bit(8));
  lapic_wr(r::kEsr, 0);
  EXPECT_EQ(lapic_rd(r::kEsr), kApicEsrIllegalRegister | kApicEsrReceiveIllegalVector);
}

TEST_F(ApicTest, SubWordReadsAndWrites) {
  make_apic(0x12);
  uint64_t v = 0;
  ASSERT_EQ(address_space_memory().read(kApicDefaultBase + r::kId + 3, 1, &v), MemTxResult::Ok);
  EXPECT_EQ(v, 0x12u);
  ASSERT_EQ(address_space_memory().read(kApicDefaultBase + r::kVersion, 2, &v), MemTxResult::Ok);
  EXPECT_EQ(v, 0x14u);
  // Writes must be 32-bit: a byte write is ignored.
  ASSERT_EQ(address_space_memory().write(kApicDefaultBase + r::kTpr, 1, 0x30), MemTxResult::Ok);
  EXPECT_EQ(lapic_rd(r::kTpr), 0u);
}

TEST_F(ApicTest, ExtIntFromThe8259ThroughLint0) {
  Apic* apic = make_apic(0, /*bsp=*/true);
  int acks = 0;
  apic->set_extint_acknowledge([&] {
    ++acks;
    return 0x20 + 8;
  });
  IrqLine* lint0 = apic->gpio_in("", 0);
  lint0->raise();  // the 8259's INTR; LINT0 is ExtINT after reset
  EXPECT_TRUE(cpu(0).hard());
  EXPECT_EQ(apic->acknowledge_interrupt(), 0x28);
  EXPECT_EQ(acks, 1);
  EXPECT_FALSE(apic->isr_bit(0x28));  // ExtINT bypasses IRR/ISR
  lint0->lower();
  EXPECT_FALSE(cpu(0).hard());
  // ExtINT ignores the task priority.
  sw_enable();
  lapic_wr(r::kLvtLint0, 0x700);
  lapic_wr(r::kTpr, 0xf0);
  lint0->raise();
  EXPECT_TRUE(cpu(0).hard());
  EXPECT_EQ(apic->acknowledge_interrupt(), 0x28);
  // Masked LINT0: the 8259 does not get through.
  lapic_wr(r::kLvtLint0, 0x10700);
  EXPECT_FALSE(cpu(0).hard());
  EXPECT_EQ(apic->acknowledge_interrupt(), -1);
  EXPECT_EQ(acks, 2);
}

TEST_F(ApicTest, ExtIntTakesPrecedenceOverFixed) {
  Apic* apic = make_apic(0, /*bsp=*/true);
  apic->set_extint_acknowledge([] { return 0x30; });
  sw_enable();
  lapic_wr(r::kLvtLint0, 0x700);
  self_ipi(0xa0);
  apic->gpio_in("", 0)->raise();
  EXPECT_EQ(apic->acknowledge_interrupt(), 0x30);
  apic->gpio_in("", 0)->lower();
  EXPECT_TRUE(cpu(0).hard());
  EXPECT_EQ(apic->acknowledge_interrupt(), 0xa0);
}

TEST_F(ApicTest, HardwareDisabledApicPassesThe8259AndNmiStraightThrough) {
  Apic* apic = make_apic(0, /*bsp=*/true);
  apic->set_extint_acknowledge([] { return 0x21; });
  sw_enable();
  lapic_wr(r::kLvtLint0, 0x10700);               // masked: would block the 8259 while enabled
  ASSERT_TRUE(apic->set_apic_base(0xfee00000));  // EN clear (BSP bit is read-only)
  EXPECT_EQ(apic->apic_base(), 0xfee00100u);
  EXPECT_EQ(lapic_rd(r::kSvr), 0xffu);  // back to the power-on state
  apic->gpio_in("", 0)->raise();
  EXPECT_TRUE(cpu(0).hard());
  EXPECT_EQ(apic->acknowledge_interrupt(), 0x21);
  apic->gpio_in("", 0)->lower();
  EXPECT_FALSE(cpu(0).hard());
  apic->gpio_in("", 1)->raise();  // LINT1 is the NMI pin
  EXPECT_TRUE(cpu(0).has(kCpuIrqNmi));
  // Re-enabled, it is in its power-on state with every LVT masked.
  ASSERT_TRUE(apic->set_apic_base(0xfee00800));
  EXPECT_EQ(apic->apic_base(), 0xfee00900u);
  EXPECT_EQ(lapic_rd(r::kLvtLint0), 0x10000u);
}

TEST_F(ApicTest, ApicBaseReservedBitsAreRefused) {
  Apic* apic = make_apic(0, true);
  EXPECT_FALSE(apic->set_apic_base(0xfee00800 | 0x1));                  // bits 7:0
  EXPECT_FALSE(apic->set_apic_base(0xfee00800 | (1u << 9)));            // bit 9
  EXPECT_FALSE(apic->set_apic_base(0xfee00800 | (1u << 10)));           // x2APIC enable: no x2APIC
  EXPECT_FALSE(apic->set_apic_base(0xfee00800 | (uint64_t{1} << 40)));  // above MAXPHYADDR 40
  EXPECT_EQ(apic->apic_base(), 0xfee00900u);
  apic->set_phys_addr_bits(46);
  EXPECT_TRUE(apic->set_apic_base(0xfee00800 | (uint64_t{1} << 40)));
  EXPECT_TRUE(apic->set_apic_base(0xfee00800));
  EXPECT_EQ(apic->apic_base(), 0xfee00900u);
}

TEST_F(ApicTest, ApicBaseRelocationMovesTheRegisterPage) {
  Apic* apic = make_apic(7);
  ASSERT_TRUE(apic->set_apic_base(0xfed00800));
  EXPECT_EQ(rd(0xfed00000 + r::kId), 7u << 24);
  uint64_t v = 0;
  EXPECT_EQ(address_space_memory().read(kApicDefaultBase + r::kId, 4, &v),
            MemTxResult::DecodeError);
  apic->cpu_reset();  // back at the default base
  EXPECT_EQ(lapic_rd(r::kId), 7u << 24);
}

TEST_F(ApicTest, Lint1InNmiModeRaisesNmiOnRisingEdge) {
  Apic* apic = make_apic(0);
  sw_enable();
  lapic_wr(r::kLvtLint1, 0x400);
  apic->gpio_in("", 1)->raise();
  EXPECT_TRUE(cpu(0).has(kCpuIrqNmi));
  cpu(0).take(kCpuIrqNmi);
  apic->gpio_in("", 1)->raise();  // no new edge
  EXPECT_FALSE(cpu(0).has(kCpuIrqNmi));
  apic->gpio_in("", 1)->lower();
  apic->gpio_in("", 1)->raise();
  EXPECT_TRUE(cpu(0).has(kCpuIrqNmi));
  EXPECT_EQ(cpu(0).raise_count(kCpuIrqNmi), 2);
}

TEST_F(ApicTest, LevelTriggeredLint0InFixedModeIsRequestedAgainAfterEoi) {
  Apic* apic = make_apic(0);
  sw_enable();
  lapic_wr(r::kLvtLint0, kApicLvtLevelTriggered | 0x60);
  IrqLine* lint0 = apic->gpio_in("", 0);
  lint0->raise();
  EXPECT_TRUE(apic->irr_bit(0x60));
  EXPECT_TRUE(apic->tmr_bit(0x60));
  EXPECT_EQ(apic->acknowledge_interrupt(), 0x60);
  lapic_wr(r::kEoi, 0);  // still asserted: requested again
  EXPECT_TRUE(apic->irr_bit(0x60));
  lint0->lower();  // withdrawn before it was taken
  EXPECT_FALSE(apic->irr_bit(0x60));
  EXPECT_FALSE(cpu(0).hard());
}

TEST_F(ApicTest, CpuResetReturnsToPowerOnStateAndInitResetKeepsTheId) {
  Apic* apic = make_apic(2);
  sw_enable();
  lapic_wr(r::kId, 9u << 24);
  lapic_wr(r::kTpr, 0x20);
  lapic_wr(r::kLvtTimer, 0x40);
  lapic_wr(r::kTimerInitialCount, 1000);
  self_ipi(0x80);
  EXPECT_TRUE(cpu(0).hard());
  apic->init_reset();
  EXPECT_EQ(lapic_rd(r::kId), 9u << 24);
  EXPECT_EQ(lapic_rd(r::kSvr), 0xffu);
  EXPECT_EQ(lapic_rd(r::kTpr), 0u);
  EXPECT_EQ(lapic_rd(r::kLvtTimer), 0x10000u);
  EXPECT_EQ(lapic_rd(r::kTimerInitialCount), 0u);
  EXPECT_EQ(apic->timer_deadline(), -1);
  EXPECT_FALSE(apic->irr_bit(0x80));
  EXPECT_FALSE(cpu(0).hard());
  apic->cpu_reset();
  EXPECT_EQ(lapic_rd(r::kId), 2u << 24);
}

}  // namespace
}  // namespace machina::test
