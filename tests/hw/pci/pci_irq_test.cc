// Interrupts: MSI messages as a driver programs them, INTx through the ICH9 PIRQ routing (PIC
// mode and APIC mode GSI 16-23) with INTX_DISABLE and STATUS.INTERRUPT, and the SCI.
#include "hw/intc/apic.h"
#include "hw/pci/msi.h"
#include "pci_fixture.h"

namespace machina::test {
namespace {

constexpr unsigned kCtl = kTestMsiCap + pci::kMsiFlags;
constexpr unsigned kAddrLo = kTestMsiCap + 4;
constexpr unsigned kAddrHi = kTestMsiCap + 8;
constexpr unsigned kData = kTestMsiCap + 0xc;
constexpr unsigned kMask = kTestMsiCap + 0x10;
constexpr unsigned kPending = kTestMsiCap + 0x14;
constexpr int kLpc = pci_devfn(31, 0);

class PciMsiTest : public PciTest {
 protected:
  void SetUp() override {
    PciTest::SetUp();
    dev = add_test("3.0");
    ASSERT_NE(dev, nullptr);
  }
  // As Linux's msi_setup: address, data, then enable (with bus mastering on).
  void program_msi(uint32_t addr, uint32_t data, unsigned log2_vectors = 0) {
    cf8_write(d, kAddrLo, addr, 4);
    cf8_write(d, kAddrHi, 0, 4);
    cf8_write(d, kData, data, 2);
    cf8_write(d, kCtl, pci::kMsiFlagsEnable | log2_vectors << 4, 2);
    cf8_write(d, pci::kCommand, pci::kCommandMaster, 2);
  }
  TestPciDevice* dev = nullptr;
  int d = pci_devfn(3, 0);
};

TEST_F(PciMsiTest, CapabilityLayoutAndWritableFields) {
  EXPECT_EQ(cf8_read(d, kTestMsiCap, 1), pci::kCapIdMsi);
  // 64-bit, per-vector masking, 4 vectors capable (MMC = 2), disabled.
  EXPECT_EQ(cf8_read(d, kCtl, 2), 0x0184u);
  cf8_write(d, kCtl, 0xffff, 2);
  EXPECT_EQ(cf8_read(d, kCtl, 2), 0x01a5u);  // enabled, MME 7 clamped to the 4 capable (2)
  cf8_write(d, kCtl, 0, 2);
  cf8_write(d, kAddrLo, 0xffffffff, 4);
  EXPECT_EQ(cf8_read(d, kAddrLo, 4), 0xfffffffcu);
  cf8_write(d, kAddrHi, 0xffffffff, 4);
  EXPECT_EQ(cf8_read(d, kAddrHi, 4), 0xffffffffu);
  cf8_write(d, kData, 0xffffffff, 4);
  EXPECT_EQ(cf8_read(d, kData, 4), 0x0000ffffu);
  cf8_write(d, kMask, 0xffffffff, 4);
  EXPECT_EQ(cf8_read(d, kMask, 4), 0x0000000fu);  // one bit per capable vector
  cf8_write(d, kPending, 0xffffffff, 4);
  EXPECT_EQ(cf8_read(d, kPending, 4), 0u);  // read-only
}

TEST_F(PciMsiTest, MessageReachesTheSink) {
  program_msi(0xfee01000, 0x4041);
  ASSERT_TRUE(msi_enabled(*dev));
  msi_notify(*dev, 0);
  ASSERT_EQ(msis.size(), 1u);
  EXPECT_EQ(msis[0].address, 0xfee01000u);
  EXPECT_EQ(msis[0].data, 0x4041u);
}

TEST_F(PciMsiTest, NothingWhileDisabledOrWithoutBusMastering) {
  msi_notify(*dev, 0);
  EXPECT_TRUE(msis.empty());
  cf8_write(d, kAddrLo, 0xfee00000, 4);
  cf8_write(d, kData, 0x30, 2);
  cf8_write(d, kCtl, pci::kMsiFlagsEnable, 2);
  msi_notify(*dev, 0);  // MSI on but COMMAND.MASTER off: the write never leaves the function
  EXPECT_TRUE(msis.empty());
  cf8_write(d, pci::kCommand, pci::kCommandMaster, 2);
  msi_notify(*dev, 0);
  EXPECT_EQ(msis.size(), 1u);
}

TEST_F(PciMsiTest, MultipleVectorsReplaceTheLowDataBits) {
  program_msi(0xfee00000, 0x4040, /*4 vectors*/ 2);
  EXPECT_EQ(msi_nr_vectors_allocated(*dev), 4u);
  msi_notify(*dev, 3);
  msi_notify(*dev, 1);
  ASSERT_EQ(msis.size(), 2u);
  EXPECT_EQ(msis[0].data, 0x4043u);
  EXPECT_EQ(msis[1].data, 0x4041u);
  // A vector the guest did not enable is dropped.
  cf8_write(d, kCtl, pci::kMsiFlagsEnable, 2);  // 1 vector
  msi_notify(*dev, 2);
  EXPECT_EQ(msis.size(), 2u);
}

TEST_F(PciMsiTest, MaskedVectorsPendUntilUnmasked) {
  program_msi(0xfee00000, 0x50, 2);
  cf8_write(d, kMask, 0x2, 4);
  msi_notify(*dev, 1);
  EXPECT_TRUE(msis.empty());
  EXPECT_EQ(cf8_read(d, kPending, 4), 0x2u);
  msi_notify(*dev, 0);  // other vectors still go out
  ASSERT_EQ(msis.size(), 1u);
  cf8_write(d, kMask, 0x0, 4);
  ASSERT_EQ(msis.size(), 2u);
  EXPECT_EQ(msis[1].data, 0x51u);
  EXPECT_EQ(cf8_read(d, kPending, 4), 0u);
}

TEST_F(PciMsiTest, ThirtyTwoBitAddressLayout) {
  // A plain 32-bit MSI capability: data at +8.
  TestPciDevice* other = add_test("4.0");
  ASSERT_NE(other, nullptr);
  msi_uninit(*other);
  auto r = msi_init(*other, 0x60, 1, false, false);
  ASSERT_TRUE(r.ok()) << r.message();
  int d2 = pci_devfn(4, 0);
  EXPECT_EQ(cf8_read(d2, 0x60 + pci::kMsiFlags, 2), 0x0000u);
  cf8_write(d2, 0x64, 0xfee02000, 4);
  cf8_write(d2, 0x68, 0x0061, 2);
  cf8_write(d2, 0x60 + pci::kMsiFlags, pci::kMsiFlagsEnable, 2);
  cf8_write(d2, pci::kCommand, pci::kCommandMaster, 2);
  msi_notify(*other, 0);
  ASSERT_EQ(msis.size(), 1u);
  EXPECT_EQ(msis[0].address, 0xfee02000u);
  EXPECT_EQ(msis[0].data, 0x61u);
}

TEST_F(PciMsiTest, EnablingMsiDropsIntx) {
  cf8_write(d, pci::kCommand, 0, 2);
  dev->set_irq(1);
  EXPECT_EQ(gsi[23], 1);  // slot 3 INTA -> PIRQH -> GSI 23
  program_msi(0xfee00000, 0x40);
  EXPECT_EQ(gsi[23], 0);
  EXPECT_FALSE(cf8_read(d, pci::kStatus, 2) & pci::kStatusInterrupt);
}

TEST_F(PciMsiTest, ResetDisablesMsi) {
  program_msi(0xfee00000, 0x40, 2);
  cf8_write(d, kMask, 0x1, 4);
  qdev_reset_all(*sysbus_get_default());
  EXPECT_EQ(cf8_read(d, kCtl, 2), 0x0184u);
  EXPECT_EQ(cf8_read(d, kAddrLo, 4), 0u);
  EXPECT_EQ(cf8_read(d, kData, 2), 0u);
  EXPECT_EQ(cf8_read(d, kMask, 4), 0u);
  msi_notify(*dev, 0);
  EXPECT_TRUE(msis.empty());
}

// The default sink: a message to 0xFEExxxxx lands in the local APIC's IRR through the APIC bus.
class FakeCpu : public x86::CpuInterruptTarget {
 public:
  void raise_interrupt(uint32_t mask) override { pending |= mask; }
  void lower_interrupt(uint32_t mask) override { pending &= ~mask; }
  void deliver_sipi(uint8_t) override {}
  uint32_t apic_id() const override { return 1; }
  uint32_t pending = 0;
};

TEST_F(PciMsiTest, DefaultSinkDeliversToTheLocalApic) {
  bus->set_msi_sink(nullptr);
  FakeCpu cpu;
  auto o = object_new(kTypeApic);
  ASSERT_TRUE(o.ok());
  auto* apic = static_cast<Apic*>(o.value().get());
  ASSERT_TRUE(apic->property_parse("id", "1").ok());
  apic->set_cpu(&cpu);
  ASSERT_TRUE(apic->realize().ok());
  apic->write_register(apic_reg::kSvr, 0x1ff);  // software-enable
  // Physical destination APIC ID 1, fixed, vector 0x61.
  program_msi(0xfee00000 | 1u << 12, 0x0061);
  msi_notify(*dev, 0);
  EXPECT_TRUE(apic->irr_bit(0x61));
  EXPECT_TRUE(cpu.pending & x86::kCpuIrqHard);
  apic->unparent();
}

// --- INTx

class PciIntxTest : public PciTest {
 protected:
  void SetUp() override {
    PciTest::SetUp();
    dev = add_test("3.0");
    ASSERT_NE(dev, nullptr);
  }
  TestPciDevice* dev = nullptr;
  int d = pci_devfn(3, 0);
};

TEST_F(PciIntxTest, PinRoutesToPirqAndGsi) {
  EXPECT_EQ(cf8_read(d, pci::kInterruptPin, 1), 1u);  // INTA
  // Slot 3, INTA: PIRQ[E + (3 + 0) % 4] = PIRQH, which is GSI 23 in APIC mode.
  EXPECT_EQ(ich9_pirq_for(3, 0), 7);
  dev->set_irq(1);
  EXPECT_EQ(gsi[23], 1);
  EXPECT_TRUE(cf8_read(d, pci::kStatus, 2) & pci::kStatusInterrupt);
  for (int g = 0; g < 23; ++g) EXPECT_EQ(gsi[g], 0) << "GSI " << g;  // PIRQH is not routed
  dev->set_irq(0);
  EXPECT_EQ(gsi[23], 0);
  EXPECT_FALSE(cf8_read(d, pci::kStatus, 2) & pci::kStatusInterrupt);
}

TEST_F(PciIntxTest, PicModeRouting) {
  cf8_write(kLpc, ich9::kPirqeRout + 3, 0x0b, 1);  // PIRQH -> IRQ 11
  EXPECT_EQ(lpc->pirq_route(7), 11);
  dev->set_irq(1);
  EXPECT_EQ(gsi[11], 1);
  EXPECT_EQ(gsi[23], 1);
  // Re-routed while asserted: the old IRQ drops, the new one rises.
  cf8_write(kLpc, ich9::kPirqeRout + 3, 0x0a, 1);
  EXPECT_EQ(gsi[11], 0);
  EXPECT_EQ(gsi[10], 1);
  // IRQEN (bit 7) set: not routed to the PIC any more; GSI 23 stays.
  cf8_write(kLpc, ich9::kPirqeRout + 3, 0x8a, 1);
  EXPECT_EQ(gsi[10], 0);
  EXPECT_EQ(gsi[23], 1);
  EXPECT_EQ(lpc->pirq_route(7), -1);
  dev->set_irq(0);
  EXPECT_EQ(gsi[23], 0);
  // Reserved bits 6:4 read as zero.
  cf8_write(kLpc, ich9::kPirqaRout, 0xff, 1);
  EXPECT_EQ(cf8_read(kLpc, ich9::kPirqaRout, 1), 0x8fu);
}

TEST_F(PciIntxTest, SharedIrqIsTheOrOfItsPirqs) {
  TestPciDevice* other = add_test("4.0");  // INTA -> PIRQE (GSI 20)
  ASSERT_NE(other, nullptr);
  cf8_write(kLpc, ich9::kPirqeRout + 0, 0x0b, 1);  // PIRQE -> 11
  cf8_write(kLpc, ich9::kPirqeRout + 3, 0x0b, 1);  // PIRQH -> 11
  dev->set_irq(1);
  other->set_irq(1);
  EXPECT_EQ(gsi[11], 1);
  EXPECT_EQ(gsi[20], 1);
  EXPECT_EQ(gsi[23], 1);
  dev->set_irq(0);
  EXPECT_EQ(gsi[11], 1);  // PIRQE still asserted
  EXPECT_EQ(gsi[23], 0);
  other->set_irq(0);
  EXPECT_EQ(gsi[11], 0);
  EXPECT_EQ(gsi[20], 0);
}

TEST_F(PciIntxTest, FunctionsSharingAPirqKeepItUpUntilBothDrop) {
  TestPciDevice* f1 = add_test("7.0");  // INTA -> PIRQ[E + 7 % 4] = PIRQH, as slot 3
  ASSERT_NE(f1, nullptr);
  dev->set_irq(1);
  f1->set_irq(1);
  dev->set_irq(0);
  EXPECT_EQ(gsi[23], 1);
  f1->set_irq(0);
  EXPECT_EQ(gsi[23], 0);
}

TEST_F(PciIntxTest, IntxDisableMasksTheLineNotTheStatus) {
  dev->set_irq(1);
  EXPECT_EQ(gsi[23], 1);
  cf8_write(d, pci::kCommand, pci::kCommandIntxDisable, 2);
  EXPECT_EQ(gsi[23], 0);
  EXPECT_TRUE(cf8_read(d, pci::kStatus, 2) & pci::kStatusInterrupt);
  // Changes while disabled do not reach the bus ...
  dev->set_irq(0);
  dev->set_irq(1);
  EXPECT_EQ(gsi[23], 0);
  // ... and clearing INTX_DISABLE re-asserts a pending interrupt. A byte write to the upper
  // half of COMMAND is enough.
  cf8_write(d, pci::kCommand + 1, 0x00, 1);
  EXPECT_EQ(gsi[23], 1);
  dev->set_irq(0);
  EXPECT_EQ(gsi[23], 0);
}

TEST_F(PciIntxTest, UnplugWhileAssertedReleasesTheLine) {
  dev->set_irq(1);
  EXPECT_EQ(gsi[23], 1);
  dev->unparent();
  dev = nullptr;
  EXPECT_EQ(gsi[23], 0);
}

TEST_F(PciIntxTest, SciFollowsAcpiCntl) {
  IrqLine* sci = lpc->gpio_in(kIch9GpioSci, 0);
  ASSERT_NE(sci, nullptr);
  EXPECT_EQ(lpc->sci_irq(), 9);
  sci->raise();
  EXPECT_EQ(gsi[9], 1);
  // SCI IRQ select 4: IRQ 20. The level moves with it.
  cf8_write(kLpc, ich9::kAcpiCntl, 0x04, 1);
  EXPECT_EQ(gsi[9], 0);
  EXPECT_EQ(gsi[20], 1);
  auto sci_int = lpc->property_get("sci_int");
  ASSERT_TRUE(sci_int.ok());
  EXPECT_EQ(sci_int.value().get<uint32_t>(), 20u);
  sci->lower();
  EXPECT_EQ(gsi[20], 0);
  // Shared with a PIRQ routed to the same IRQ: OR.
  cf8_write(kLpc, ich9::kAcpiCntl, 0x02, 1);  // IRQ 11
  cf8_write(kLpc, ich9::kPirqeRout + 3, 0x0b, 1);
  sci->raise();
  dev->set_irq(1);
  sci->lower();
  EXPECT_EQ(gsi[11], 1);
  dev->set_irq(0);
  EXPECT_EQ(gsi[11], 0);
}

}  // namespace
}  // namespace machina::test
