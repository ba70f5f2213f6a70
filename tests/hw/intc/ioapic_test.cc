// The I/O APIC through IOREGSEL/IOWIN: identification registers, the redirection table, edge and
// level pins, masks, remote IRR and EOI (local APIC broadcast and the EOI register), ExtINT.
#include "intc_fixture.h"

namespace machina::test {
namespace {

namespace r = apic_reg;
namespace io = ioapic_reg;

constexpr uint64_t kLevel = kIoapicEntryLevelTriggered;
constexpr uint64_t kMasked = kIoapicEntryMasked;
constexpr uint64_t kRemoteIrr = kIoapicEntryRemoteIrr;

uint64_t dest(uint8_t apic_id) {
  return uint64_t{apic_id} << 56;
}

class IoapicTest : public IntcTest {
 protected:
  void SetUp() override {
    IntcTest::SetUp();
    lapic = make_apic(0, true);
    sw_enable();
    ioapic = make_ioapic();
  }
  IrqLine* pin(int n) { return ioapic->gpio_in("", n); }
  // The CPU takes the interrupt and its handler writes EOI.
  void take_and_eoi(uint8_t vector) {
    EXPECT_EQ(lapic->acknowledge_interrupt(), vector);
    lapic_wr(r::kEoi, 0);
  }
  Apic* lapic = nullptr;
  IoApic* ioapic = nullptr;
};

TEST_F(IoapicTest, IdentificationRegistersAndResetState) {
  EXPECT_EQ(ioapic_rd(io::kVersion), 0x00170020u);  // 24 entries, version 0x20
  EXPECT_EQ(ioapic_rd(io::kId), 0u);
  ioapic_wr(io::kId, 0xffffffff);
  EXPECT_EQ(ioapic_rd(io::kId), 0x0f000000u);
  EXPECT_EQ(ioapic_rd(io::kArbitration), 0x0f000000u);
  ioapic_wr(io::kVersion, 0);
  EXPECT_EQ(ioapic_rd(io::kVersion), 0x00170020u);
  wr(kIoapicDefaultBase + io::kRegSel, 0x15);
  EXPECT_EQ(rd(kIoapicDefaultBase + io::kRegSel), 0x15u);
  for (int p = 0; p < kIoapicPins; ++p) EXPECT_EQ(get_entry(p), kMasked) << p;
  EXPECT_EQ(ioapic_rd(0x10 + 2 * kIoapicPins), 0u);  // beyond the table
}

TEST_F(IoapicTest, RemoteIrrAndDeliveryStatusAreReadOnly) {
  set_entry(
      5, 0xff00000000000000ull | kMasked | kLevel | kRemoteIrr | kIoapicEntryDeliveryStatus | 0x31);
  EXPECT_EQ(get_entry(5), 0xff00000000000000ull | kMasked | kLevel | 0x31);
}

TEST_F(IoapicTest, EdgePinDeliversOnRisingEdgesOnly) {
  set_entry(4, dest(0) | 0x34);
  pin(4)->raise();
  EXPECT_TRUE(lapic->irr_bit(0x34));
  EXPECT_FALSE(lapic->tmr_bit(0x34));
  EXPECT_TRUE(cpu(0).hard());
  take_and_eoi(0x34);
  pin(4)->raise();  // still high: no new edge
  EXPECT_FALSE(lapic->irr_bit(0x34));
  pin(4)->lower();
  pin(4)->raise();
  EXPECT_TRUE(lapic->irr_bit(0x34));
  take_and_eoi(0x34);
  pin(4)->lower();
  // An edge on a masked pin is lost, also when it is unmasked later.
  set_entry(4, dest(0) | kMasked | 0x34);
  pin(4)->pulse();
  set_entry(4, dest(0) | 0x34);
  EXPECT_FALSE(lapic->irr_bit(0x34));
  EXPECT_EQ(get_entry(4) & kRemoteIrr, 0u);
}

TEST_F(IoapicTest, LevelPinSetsRemoteIrrAndIsDeliveredAgainAfterEoiWhileAsserted) {
  set_entry(10, dest(0) | kLevel | 0x3a);
  pin(10)->raise();
  EXPECT_TRUE(lapic->irr_bit(0x3a));
  EXPECT_TRUE(lapic->tmr_bit(0x3a));
  EXPECT_NE(get_entry(10) & kRemoteIrr, 0u);
  EXPECT_EQ(lapic->acknowledge_interrupt(), 0x3a);
  // The device raises again while the interrupt is in service: remote IRR holds it.
  pin(10)->lower();
  pin(10)->raise();
  EXPECT_FALSE(lapic->irr_bit(0x3a));
  lapic_wr(r::kEoi, 0);               // level-triggered: EOI goes to the I/O APIC
  EXPECT_TRUE(lapic->irr_bit(0x3a));  // still asserted: delivered again
  EXPECT_NE(get_entry(10) & kRemoteIrr, 0u);
  EXPECT_EQ(lapic->acknowledge_interrupt(), 0x3a);
  pin(10)->lower();  // the handler quietened the device
  lapic_wr(r::kEoi, 0);
  EXPECT_EQ(get_entry(10) & kRemoteIrr, 0u);
  EXPECT_FALSE(lapic->irr_bit(0x3a));
  EXPECT_FALSE(cpu(0).hard());
}

TEST_F(IoapicTest, MaskedLevelPinIsDeliveredWhenUnmasked) {
  set_entry(9, dest(0) | kLevel | kMasked | 0x39);
  pin(9)->raise();
  EXPECT_FALSE(lapic->irr_bit(0x39));
  EXPECT_EQ(get_entry(9) & kRemoteIrr, 0u);
  set_entry(9, dest(0) | kLevel | 0x39);
  EXPECT_TRUE(lapic->irr_bit(0x39));
  EXPECT_NE(get_entry(9) & kRemoteIrr, 0u);
}

TEST_F(IoapicTest, EoiRegisterClearsRemoteIrrForTheVector) {
  set_entry(11, dest(0) | kLevel | 0x3b);
  pin(11)->raise();
  EXPECT_EQ(lapic->acknowledge_interrupt(), 0x3b);
  pin(11)->lower();
  wr(kIoapicDefaultBase + io::kEoi, 0x3c);  // another vector: no effect
  EXPECT_NE(get_entry(11) & kRemoteIrr, 0u);
  wr(kIoapicDefaultBase + io::kEoi, 0x3b);
  EXPECT_EQ(get_entry(11) & kRemoteIrr, 0u);
}

TEST_F(IoapicTest, SwitchingToEdgeClearsRemoteIrr) {
  set_entry(12, dest(0) | kLevel | 0x3c);
  pin(12)->raise();
  EXPECT_NE(get_entry(12) & kRemoteIrr, 0u);
  pin(12)->lower();
  set_entry(12, dest(0) | kMasked | 0x3c);  // Linux's EOI for I/O APICs without EOI register
  EXPECT_EQ(get_entry(12) & kRemoteIrr, 0u);
}

TEST_F(IoapicTest, EdgeEoiDoesNotReachTheIoapic) {
  // An edge interrupt's EOI is not broadcast: a level entry with the same vector keeps remote IRR.
  set_entry(13, dest(0) | kLevel | 0x3d);
  pin(13)->raise();
  EXPECT_EQ(lapic->acknowledge_interrupt(), 0x3d);
  pin(13)->lower();
  apic_deliver_msi(0xfee00000, 0x0050);  // an edge interrupt, higher class, nested
  EXPECT_EQ(lapic->acknowledge_interrupt(), 0x50);
  lapic_wr(r::kEoi, 0);  // ends 0x50
  EXPECT_NE(get_entry(13) & kRemoteIrr, 0u);
  lapic_wr(r::kEoi, 0);  // ends 0x3d
  EXPECT_EQ(get_entry(13) & kRemoteIrr, 0u);
}

TEST_F(IoapicTest, DestinationsAndDeliveryModes) {
  make_apic(1, false, kApicDefaultBase + 0x10000);
  wr(kApicDefaultBase + 0x10000 + r::kSvr, 0x1ff);
  Apic* a1 = apic_bus_find(1);
  set_entry(1, dest(1) | 0x41);
  pin(1)->pulse();
  EXPECT_TRUE(a1->irr_bit(0x41));
  EXPECT_FALSE(lapic->irr_bit(0x41));
  // Logical flat destination.
  wr(kApicDefaultBase + 0x10000 + r::kLdr, 0x02u << 24);
  lapic_wr(r::kLdr, 0x01u << 24);
  set_entry(2, dest(0x03) | (1u << 11) | 0x42);
  pin(2)->pulse();
  EXPECT_TRUE(a1->irr_bit(0x42));
  EXPECT_TRUE(lapic->irr_bit(0x42));
  // NMI.
  set_entry(3, dest(1) | (4u << 8));
  pin(3)->pulse();
  EXPECT_TRUE(cpu(1).has(x86::kCpuIrqNmi));
}

TEST_F(IoapicTest, ExtIntEntryTakesTheVectorFromThe8259) {
  int acks = 0;
  lapic->set_extint_acknowledge([&] {
    ++acks;
    return 0x20;
  });
  lapic_wr(r::kLvtLint0, 0x10700);  // the LINT0 path is masked: only the I/O APIC's message
  set_entry(0, dest(0) | (7u << 8));
  pin(0)->raise();
  EXPECT_TRUE(cpu(0).hard());
  EXPECT_EQ(lapic->acknowledge_interrupt(), 0x20);
  EXPECT_EQ(acks, 1);
  EXPECT_FALSE(cpu(0).hard());
}

TEST_F(IoapicTest, InterruptStormIsThrottled) {
  set_entry(14, dest(0) | kLevel | 0x3e);
  pin(14)->raise();
  int delivered = 0;
  while (lapic->irr_bit(0x3e) && delivered < 20000) {
    take_and_eoi(0x3e);
    ++delivered;
  }
  // After 10000 immediate re-deliveries the next one waits 10 ms of virtual time.
  EXPECT_EQ(delivered, 10000);
  clock_step(kNsPerSec / 100 - 1);
  EXPECT_FALSE(lapic->irr_bit(0x3e));
  clock_step(1);
  EXPECT_TRUE(lapic->irr_bit(0x3e));
}

TEST_F(IoapicTest, ResetMasksEveryEntry) {
  set_entry(6, dest(0) | kLevel | 0x36);
  ioapic_wr(io::kId, 3u << 24);
  ioapic->reset_tree();
  EXPECT_EQ(get_entry(6), kMasked);
  EXPECT_EQ(ioapic_rd(io::kId), 0u);
}

TEST_F(IoapicTest, OnlyVersions0x11And0x20) {
  auto o = object_new(kTypeIoapic);
  ASSERT_TRUE(o.ok());
  auto* d = static_cast<Device*>(o.value().get());
  ASSERT_TRUE(d->property_parse("version", "0x12").ok());
  EXPECT_EQ(d->realize().message(), "IOAPIC only supports version 0x11 or 0x20 (default: 0x20).");
}

TEST_F(IoapicTest, Version0x11HasNoEoiRegister) {
  auto o = object_new(kTypeIoapic);
  ASSERT_TRUE(o.ok());
  auto* old = static_cast<IoApic*>(o.value().get());
  ASSERT_TRUE(old->property_parse("version", "0x11").ok());
  old->attach_to_bus(sysbus_get_default());
  ASSERT_TRUE(old->realize().ok());
  constexpr uint64_t kBase = 0xfec10000;
  ASSERT_TRUE(get_system_memory()->add_subregion(kBase, old->mmio()).ok());
  wr(kBase + io::kRegSel, io::kVersion);
  EXPECT_EQ(rd(kBase + io::kWindow), 0x00170011u);
  old->gpio_in("", 7)->raise();
  wr(kBase + io::kRegSel, 0x10 + 2 * 7);
  wr(kBase + io::kWindow, uint32_t(kLevel | 0x37));
  EXPECT_TRUE(lapic->irr_bit(0x37));
  old->gpio_in("", 7)->lower();
  wr(kBase + io::kEoi, 0x37);  // ignored
  EXPECT_NE(old->redirection_entry(7) & kRemoteIrr, 0u);
}

}  // namespace
}  // namespace machina::test
