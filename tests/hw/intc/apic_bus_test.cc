// The APIC bus: IPIs through the ICR (shorthands, physical and logical destinations, INIT,
// start-up, NMI, lowest priority) and MSI address/data decoding and delivery.
#include "intc_fixture.h"

namespace machina::test {
namespace {

namespace r = apic_reg;
using x86::kCpuIrqHard;
using x86::kCpuIrqInit;
using x86::kCpuIrqNmi;
using x86::kCpuIrqSmi;

// Two local APICs: APIC ID 0 (BSP) at the default base and APIC ID 1 at kSecond for the test to
// reach its registers.
constexpr uint64_t kSecond = kApicDefaultBase + 0x10000;

class ApicBusTest : public IntcTest {
 protected:
  void SetUp() override {
    IntcTest::SetUp();
    a0 = make_apic(0, true);
    a1 = make_apic(1, false, kSecond);
    wr(kApicDefaultBase + r::kSvr, 0x1ff);
    wr(kSecond + r::kSvr, 0x1ff);
  }
  // Writes ICR high then low on APIC 0, as a driver sends an IPI.
  void ipi(uint8_t dest, uint32_t low) {
    lapic_wr(r::kIcrHigh, uint32_t(dest) << 24);
    lapic_wr(r::kIcrLow, low);
  }
  Apic* a0 = nullptr;
  Apic* a1 = nullptr;
};

constexpr uint32_t kSelf = 1u << 18;
constexpr uint32_t kAll = 2u << 18;
constexpr uint32_t kAllButSelf = 3u << 18;
constexpr uint32_t kLogical = 1u << 11;

TEST_F(ApicBusTest, RegistryFindsApicsByTheirCurrentId) {
  EXPECT_EQ(apic_bus_find(0), a0);
  EXPECT_EQ(apic_bus_find(1), a1);
  EXPECT_EQ(apic_bus_find(2), nullptr);
  wr(kSecond + r::kId, 5u << 24);
  EXPECT_EQ(apic_bus_find(5), a1);
  EXPECT_EQ(apic_bus_find(1), nullptr);
  EXPECT_EQ(apic_bus_apics().size(), 2u);
}

TEST_F(ApicBusTest, Shorthands) {
  ipi(0, kSelf | 0x40);
  EXPECT_TRUE(a0->irr_bit(0x40));
  EXPECT_FALSE(a1->irr_bit(0x40));
  ipi(0, kAllButSelf | 0x41);
  EXPECT_FALSE(a0->irr_bit(0x41));
  EXPECT_TRUE(a1->irr_bit(0x41));
  EXPECT_TRUE(cpu(1).hard());
  ipi(0, kAll | 0x42);
  EXPECT_TRUE(a0->irr_bit(0x42));
  EXPECT_TRUE(a1->irr_bit(0x42));
  // The ICR keeps what was written; delivery status reads idle.
  EXPECT_EQ(lapic_rd(r::kIcrLow), kAll | 0x42);
}

TEST_F(ApicBusTest, PhysicalDestination) {
  ipi(1, 0x50);
  EXPECT_TRUE(a1->irr_bit(0x50));
  EXPECT_FALSE(a0->irr_bit(0x50));
  ipi(7, 0x51);  // nobody
  EXPECT_FALSE(a0->irr_bit(0x51));
  EXPECT_FALSE(a1->irr_bit(0x51));
  ipi(0xff, 0x52);  // broadcast
  EXPECT_TRUE(a0->irr_bit(0x52));
  EXPECT_TRUE(a1->irr_bit(0x52));
}

TEST_F(ApicBusTest, LogicalFlatAndClusterDestinations) {
  lapic_wr(r::kLdr, 0x01u << 24);
  wr(kSecond + r::kLdr, 0x02u << 24);
  ipi(0x02, kLogical | 0x60);
  EXPECT_FALSE(a0->irr_bit(0x60));
  EXPECT_TRUE(a1->irr_bit(0x60));
  ipi(0x03, kLogical | 0x61);
  EXPECT_TRUE(a0->irr_bit(0x61));
  EXPECT_TRUE(a1->irr_bit(0x61));
  // Cluster model: cluster in bits 7:4, members in bits 3:0.
  lapic_wr(r::kDfr, 0x0fffffff);
  wr(kSecond + r::kDfr, 0x0fffffff);
  lapic_wr(r::kLdr, 0x11u << 24);
  wr(kSecond + r::kLdr, 0x22u << 24);
  ipi(0x13, kLogical | 0x62);
  EXPECT_TRUE(a0->irr_bit(0x62));
  EXPECT_FALSE(a1->irr_bit(0x62));
  ipi(0x21, kLogical | 0x63);  // cluster 2, member 1: nobody
  EXPECT_FALSE(a0->irr_bit(0x63));
  EXPECT_FALSE(a1->irr_bit(0x63));
  ipi(0xff, kLogical | 0x64);  // broadcast
  EXPECT_TRUE(a0->irr_bit(0x64));
  EXPECT_TRUE(a1->irr_bit(0x64));
}

TEST_F(ApicBusTest, InitStartUpNmiAndSmiReachTheTargetCpu) {
  ipi(1, (5u << 8) | kApicIcrLevelAssert);  // INIT
  EXPECT_TRUE(cpu(1).has(kCpuIrqInit));
  EXPECT_FALSE(cpu(0).has(kCpuIrqInit));
  cpu(1).take(kCpuIrqInit);
  ipi(1, (5u << 8) | kApicIcrLevelTriggered);  // INIT level de-assert: no INIT
  EXPECT_FALSE(cpu(1).has(kCpuIrqInit));
  ipi(1, (6u << 8) | 0x9a);  // start-up, vector 0x9a (code at 0x9a000)
  ASSERT_EQ(cpu(1).sipis.size(), 1u);
  EXPECT_EQ(cpu(1).sipis[0], 0x9a);
  EXPECT_TRUE(cpu(0).sipis.empty());
  ipi(0, kAllButSelf | (4u << 8));  // NMI to the others
  EXPECT_TRUE(cpu(1).has(kCpuIrqNmi));
  EXPECT_FALSE(cpu(0).has(kCpuIrqNmi));
  ipi(1, 2u << 8);  // SMI
  EXPECT_TRUE(cpu(1).has(kCpuIrqSmi));
  // INIT and start-up also reach a software-disabled APIC's CPU (an AP before it is started).
  wr(kSecond + r::kSvr, 0xff);
  cpu(1).take(kCpuIrqInit);
  ipi(1, (5u << 8) | kApicIcrLevelAssert);
  ipi(1, (6u << 8) | 0x10);
  EXPECT_TRUE(cpu(1).has(kCpuIrqInit));
  EXPECT_EQ(cpu(1).sipis.back(), 0x10);
  // No fixed vector below 16 is sent.
  ipi(1, 0x0f);
  EXPECT_FALSE(a1->irr_bit(0x0f));
}

TEST_F(ApicBusTest, LowestPriorityGoesToTheLowestProcessorPriority) {
  lapic_wr(r::kTpr, 0x20);
  wr(kSecond + r::kTpr, 0x10);
  ipi(0xff, (1u << 8) | 0x70);
  EXPECT_TRUE(a1->irr_bit(0x70));
  EXPECT_FALSE(a0->irr_bit(0x70));
  lapic_wr(r::kTpr, 0x00);
  ipi(0xff, (1u << 8) | 0x71);
  EXPECT_TRUE(a0->irr_bit(0x71));
  EXPECT_FALSE(a1->irr_bit(0x71));
  // The focus processor (vector already pending there) wins over priority.
  wr(kSecond + r::kTpr, 0x30);
  ipi(0xff, (1u << 8) | 0x70);
  EXPECT_FALSE(a0->irr_bit(0x70));
}

TEST_F(ApicBusTest, HardwareDisabledApicTakesNoMessages) {
  ASSERT_TRUE(a1->set_apic_base(0xfee00000));
  ipi(0xff, 0x80);
  EXPECT_TRUE(a0->irr_bit(0x80));
  EXPECT_FALSE(a1->irr_bit(0x80));
  ipi(1, (5u << 8) | kApicIcrLevelAssert);
  EXPECT_FALSE(cpu(1).has(kCpuIrqInit));
}

TEST_F(ApicBusTest, MsiAddressAndDataDecoding) {
  ApicMessage m;
  ASSERT_TRUE(apic_msi_decode(0xfee01000, 0x0031, &m));
  EXPECT_EQ(m.dest, 1);
  EXPECT_FALSE(m.logical);
  EXPECT_EQ(m.mode, ApicDeliveryMode::Fixed);
  EXPECT_EQ(m.vector, 0x31);
  EXPECT_FALSE(m.level_triggered);

  ASSERT_TRUE(apic_msi_decode(0xfeeff00c, 0xc1e5, &m));  // logical, RH; level, assert, lowest
  EXPECT_EQ(m.dest, 0xff);
  EXPECT_TRUE(m.logical);
  EXPECT_EQ(m.mode, ApicDeliveryMode::LowestPriority);
  EXPECT_EQ(m.vector, 0xe5);
  EXPECT_TRUE(m.level_triggered);
  EXPECT_TRUE(m.assert);

  ASSERT_TRUE(apic_msi_decode(0xfee00000, 0x0400, &m));
  EXPECT_EQ(m.mode, ApicDeliveryMode::Nmi);
  ASSERT_TRUE(apic_msi_decode(0xfee00000, 0x0700, &m));
  EXPECT_EQ(m.mode, ApicDeliveryMode::ExtInt);

  EXPECT_FALSE(apic_msi_decode(0xfed01000, 0x31, &m));      // not 0xFEExxxxx
  EXPECT_FALSE(apic_msi_decode(0x1fee01000ull, 0x31, &m));  // above 4 GiB
  EXPECT_FALSE(apic_msi_decode(0xfee01000, 0x0331, &m));    // delivery mode 3
  EXPECT_FALSE(apic_msi_decode(0xfee01000, 0x0631, &m));    // start-up: reserved
}

TEST_F(ApicBusTest, MsiDelivery) {
  apic_deliver_msi(0xfee01000, 0x0045);
  EXPECT_TRUE(a1->irr_bit(0x45));
  EXPECT_FALSE(a0->irr_bit(0x45));
  EXPECT_TRUE(cpu(1).hard());
  wr(kSecond + r::kLdr, 0x04u << 24);
  apic_deliver_msi(0xfee04004, 0x8046);  // logical destination 4, level-triggered
  EXPECT_TRUE(a1->irr_bit(0x46));
  EXPECT_TRUE(a1->tmr_bit(0x46));
  apic_deliver_msi(0xfee00000, 0x0400);  // NMI to APIC 0
  EXPECT_TRUE(cpu(0).has(kCpuIrqNmi));
  apic_deliver_msi(0xfed00000, 0x0047);  // malformed: dropped
  EXPECT_FALSE(a0->irr_bit(0x47));
  EXPECT_FALSE(a1->irr_bit(0x47));
}

}  // namespace
}  // namespace machina::test
