// The 8259A pair on q35 (Intel 8259A datasheet): initialization, masking, IRR/ISR reads, priority,
// EOI and rotation, the cascade on IR2, edge and level triggering through the ELCR, auto-EOI and
// the poll command. The master's INT output is intercepted; ISA IRQs are driven through the GSI
// fan-out's inputs, as the devices drive them.
#include "qtest/hw_pc_qtest.h"

namespace machina::qtest {
namespace {

class PicTest : public PcQtest {
 protected:
  void SetUp() override {
    start();
    ASSERT_EQ(q("irq_intercept_out /machine/pic-master"), "OK");
    init(0x20, 0x30, 0x04, 0x01);  // master: vectors 0x30, slave on IR2, 8086 mode
    init(0xa0, 0x38, 0x02, 0x01);  // slave: vectors 0x38, cascade identity 2
    outb(0x21, 0xfb);              // only the cascade unmasked
    outb(0xa1, 0xff);
  }
  void init(uint16_t base, uint8_t vector, uint8_t icw3, uint8_t icw4) {
    outb(base, 0x11);  // ICW1: edge, cascade, ICW4 needed
    outb(base + 1, vector);
    outb(base + 1, icw3);
    outb(base + 1, icw4);
  }
  void set_irq(int n, int level) {
    ASSERT_EQ(q("set_irq_in /machine/gsi unnamed-gpio-in " + std::to_string(n) + " " +
                std::to_string(level)),
              "OK");
  }
  void pulse(int n) {
    set_irq(n, 1);
    set_irq(n, 0);
  }
  int intr() const { return irq(0); }  // the master's INT
  uint8_t irr(uint16_t base) {
    outb(base, 0x0a);
    return inb(base);
  }
  uint8_t isr(uint16_t base) {
    outb(base, 0x0b);
    return inb(base);
  }
  uint8_t poll(uint16_t base) {
    outb(base, 0x0c);
    return inb(base);
  }
  void eoi(uint16_t base) { outb(base, 0x20); }
};

TEST_F(PicTest, MaskRegisterReadsBack) {
  EXPECT_EQ(inb(0x21), 0xfb);
  EXPECT_EQ(inb(0xa1), 0xff);
}

TEST_F(PicTest, MaskedRequestIsInIrrButDoesNotInterrupt) {
  pulse(3);
  EXPECT_EQ(irr(0x20) & 0x08, 0x08);
  EXPECT_EQ(intr(), 0);
  outb(0x21, 0xf3);  // unmask IR3
  EXPECT_EQ(intr(), 1);
  outb(0x21, 0xfb);
  EXPECT_EQ(intr(), 0);
}

TEST_F(PicTest, PriorityPollAndNonSpecificEoi) {
  outb(0x21, 0xd3);  // unmask 2, 3, 5
  pulse(5);
  pulse(3);
  EXPECT_EQ(intr(), 1);
  EXPECT_EQ(poll(0x20), 0x83) << "IR3 has priority over IR5";
  EXPECT_EQ(isr(0x20), 0x08);
  EXPECT_EQ(irr(0x20) & 0x28, 0x20) << "acknowledging an edge request clears its IRR bit";
  EXPECT_EQ(intr(), 0) << "IR5 waits while IR3 is in service";
  eoi(0x20);
  EXPECT_EQ(isr(0x20), 0x00);
  EXPECT_EQ(intr(), 1);
  EXPECT_EQ(poll(0x20), 0x85);
  eoi(0x20);
  EXPECT_EQ(poll(0x20), 0x00) << "nothing pending";
}

TEST_F(PicTest, HigherPriorityNestsLowerDoesNot) {
  outb(0x21, 0xc3);  // unmask 2, 3, 4, 5
  pulse(4);
  EXPECT_EQ(poll(0x20), 0x84);
  pulse(5);
  EXPECT_EQ(intr(), 0);
  pulse(3);
  EXPECT_EQ(intr(), 1);
  EXPECT_EQ(poll(0x20), 0x83);
  EXPECT_EQ(isr(0x20), 0x18);
  eoi(0x20);  // ends the highest in service: 3
  EXPECT_EQ(isr(0x20), 0x10);
  outb(0x20, 0x60 | 4);  // specific EOI for IR4
  EXPECT_EQ(isr(0x20), 0x00);
  EXPECT_EQ(poll(0x20), 0x85);
}

TEST_F(PicTest, CascadeThroughIr2) {
  outb(0xa1, 0xef);  // slave IR4 = IRQ 12
  pulse(12);
  EXPECT_EQ(irr(0xa0), 0x10);
  EXPECT_EQ(intr(), 1);
  EXPECT_EQ(poll(0x20), 0x82) << "the master sees the slave on IR2";
  EXPECT_EQ(poll(0xa0), 0x84);
  EXPECT_EQ(isr(0xa0), 0x10);
  EXPECT_EQ(isr(0x20), 0x04);
  eoi(0xa0);
  eoi(0x20);
  EXPECT_EQ(isr(0xa0), 0x00);
  EXPECT_EQ(isr(0x20), 0x00);
  EXPECT_EQ(intr(), 0);
}

TEST_F(PicTest, SlaveMaskedRequestDoesNotReachMaster) {
  pulse(9);
  EXPECT_EQ(irr(0xa0), 0x02);
  EXPECT_EQ(intr(), 0);
  outb(0xa1, 0xfd);
  EXPECT_EQ(intr(), 1);
}

TEST_F(PicTest, EdgeRequestIsLatched) {
  outb(0x21, 0xf3);
  pulse(3);  // gone before it was acknowledged: still requested (as QEMU)
  EXPECT_EQ(intr(), 1);
  EXPECT_EQ(poll(0x20), 0x83);
  eoi(0x20);
  set_irq(3, 1);
  EXPECT_EQ(poll(0x20), 0x83);
  eoi(0x20);
  EXPECT_EQ(intr(), 0) << "a line held high is one request";
  set_irq(3, 0);
}

TEST_F(PicTest, LevelTriggeredThroughElcr) {
  outb(0x4d1, 0x02);  // IRQ 9 level-triggered
  EXPECT_EQ(inb(0x4d1), 0x02);
  outb(0xa1, 0xfd);
  set_irq(9, 1);
  EXPECT_EQ(irr(0xa0), 0x02);
  EXPECT_EQ(intr(), 1);
  set_irq(9, 0);
  EXPECT_EQ(irr(0xa0), 0x00) << "a level request goes away with its line";
  set_irq(9, 1);
  EXPECT_EQ(poll(0x20), 0x82);
  EXPECT_EQ(poll(0xa0), 0x81);
  eoi(0xa0);
  eoi(0x20);
  EXPECT_EQ(irr(0xa0), 0x02) << "still requested while the line is high";
  EXPECT_EQ(intr(), 1);
  set_irq(9, 0);
}

TEST_F(PicTest, ElcrMasks) {
  outb(0x4d0, 0xff);
  EXPECT_EQ(inb(0x4d0), 0xf8) << "IRQ 0-2 are always edge-triggered";
  outb(0x4d1, 0xff);
  EXPECT_EQ(inb(0x4d1), 0xde) << "IRQ 8 and 13 are always edge-triggered";
}

TEST_F(PicTest, AutoEoi) {
  init(0x20, 0x30, 0x04, 0x03);  // ICW4: auto-EOI
  outb(0x21, 0xf3);
  pulse(3);
  EXPECT_EQ(poll(0x20), 0x83);
  EXPECT_EQ(isr(0x20), 0x00);
  pulse(3);
  EXPECT_EQ(intr(), 1) << "no EOI needed";
}

TEST_F(PicTest, RotateOnNonSpecificEoi) {
  outb(0x21, 0x00);
  pulse(3);
  EXPECT_EQ(poll(0x20), 0x83);
  outb(0x20, 0xa0);  // rotate on non-specific EOI: IR3 becomes the lowest priority
  pulse(1);
  pulse(5);
  EXPECT_EQ(poll(0x20), 0x85) << "IR4 is now the highest priority, then 5, ... 1";
  eoi(0x20);
  EXPECT_EQ(poll(0x20), 0x81);
  eoi(0x20);
  outb(0x20, 0xc7);  // set priority: IR7 lowest again
  pulse(1);
  pulse(5);
  EXPECT_EQ(poll(0x20), 0x81);
}

TEST_F(PicTest, SpecialMaskModeAllowsLowerPriority) {
  outb(0x21, 0x00);
  pulse(3);
  EXPECT_EQ(poll(0x20), 0x83);
  pulse(5);
  EXPECT_EQ(intr(), 0);
  outb(0x21, 0x08);  // mask IR3 (in service)
  outb(0x20, 0x68);  // OCW3: set special mask
  EXPECT_EQ(intr(), 1);
  EXPECT_EQ(poll(0x20), 0x85);
  outb(0x20, 0x48);  // reset special mask
}

TEST_F(PicTest, IcwResetsMaskAndState) {
  outb(0x21, 0xf3);
  pulse(3);
  EXPECT_EQ(poll(0x20), 0x83);
  init(0x20, 0x30, 0x04, 0x01);
  EXPECT_EQ(inb(0x21), 0x00);
  EXPECT_EQ(isr(0x20), 0x00);
}

}  // namespace
}  // namespace machina::qtest
