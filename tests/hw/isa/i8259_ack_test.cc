// The 8259 pair's interrupt acknowledge (pic_read_irq), which the CPU's INTA cycle uses and qtest
// cannot reach: vectors through the cascade, ISR/IRR effects, spurious requests on either chip,
// auto-EOI and the INT output. The pair sits on an ISA bus built in-process.
#include <gtest/gtest.h>

#include "hw/intc/i8259.h"
#include "hw/isa/isa-bridge.h"
#include "system/memory.h"

namespace machina {
namespace {

class I8259AckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bus = isa_bridge_create("test-isa-bridge");
    ASSERT_TRUE(bus.ok()) << bus.message();
    bus_ = bus.value();
    cpu_int_ = std::make_unique<IrqLine>([this](int, int level) { int_level_ = level; }, 0);
    auto pair = i8259_init(*bus_, cpu_int_.get(), "test-pic-master", "test-pic-slave");
    ASSERT_TRUE(pair.ok()) << pair.message();
    pics_ = pair.value();
    init(0x20, 0x20, 0x04, 0x01);
    init(0xa0, 0x28, 0x02, 0x01);
  }
  void TearDown() override {
    if (Object* b = object_resolve_path("/machine/test-isa-bridge")) b->unparent();
  }
  void out(uint16_t port, uint8_t v) { (void)address_space_io().write(port, 1, v); }
  uint8_t in(uint16_t port) {
    uint64_t v = 0;
    (void)address_space_io().read(port, 1, &v);
    return uint8_t(v);
  }
  void init(uint16_t base, uint8_t vec, uint8_t icw3, uint8_t icw4) {
    out(base, 0x11);
    out(base + 1, vec);
    out(base + 1, icw3);
    out(base + 1, icw4);
  }
  void set(int n, int level) { pics_.irqs[size_t(n)]->set(level); }

  IsaBus* bus_ = nullptr;
  I8259Pair pics_;
  std::unique_ptr<IrqLine> cpu_int_;
  int int_level_ = 0;
};

TEST_F(I8259AckTest, MasterVector) {
  set(1, 1);
  EXPECT_EQ(int_level_, 1);
  EXPECT_TRUE(pics_.master->int_output());
  EXPECT_EQ(pic_read_irq(*pics_.master), 0x21);
  EXPECT_EQ(pics_.master->isr(), 0x02);
  EXPECT_EQ(pics_.master->irr(), 0x00);
  EXPECT_EQ(int_level_, 0);
  out(0x20, 0x20);
  EXPECT_EQ(pics_.master->isr(), 0x00);
}

TEST_F(I8259AckTest, SlaveVectorThroughTheCascade) {
  set(9, 1);
  EXPECT_EQ(int_level_, 1);
  EXPECT_EQ(pic_read_irq(*pics_.master), 0x29);
  EXPECT_EQ(pics_.slave->isr(), 0x02);
  EXPECT_EQ(pics_.master->isr(), 0x04);
  EXPECT_EQ(int_level_, 0);
}

TEST_F(I8259AckTest, PriorityAcrossChips) {
  set(3, 1);
  set(8, 1);  // slave requests come in at the master's IR2: above IR3
  EXPECT_EQ(pic_read_irq(*pics_.master), 0x28);
  out(0xa0, 0x20);
  out(0x20, 0x20);
  EXPECT_EQ(pic_read_irq(*pics_.master), 0x23);
}

TEST_F(I8259AckTest, SpuriousOnTheMaster) {
  EXPECT_EQ(int_level_, 0);
  EXPECT_EQ(pic_read_irq(*pics_.master), 0x27) << "IR7's vector";
  EXPECT_EQ(pics_.master->isr(), 0x00) << "a spurious IR7 is not put in service";
}

TEST_F(I8259AckTest, SpuriousOnTheSlave) {
  out(0x4d1, 0x02);  // IRQ 9 level-triggered
  set(9, 1);         // the master latches the edge on IR2
  set(9, 0);         // and the slave's request goes away before the acknowledge
  EXPECT_EQ(pic_read_irq(*pics_.master), 0x2f) << "the slave's IR7 vector";
  EXPECT_EQ(pics_.slave->isr(), 0x00);
  EXPECT_EQ(pics_.master->isr(), 0x04) << "the master did acknowledge IR2";
}

TEST_F(I8259AckTest, AutoEoi) {
  init(0x20, 0x20, 0x04, 0x03);
  set(4, 1);
  EXPECT_EQ(pic_read_irq(*pics_.master), 0x24);
  EXPECT_EQ(pics_.master->isr(), 0x00);
  set(4, 0);
  set(4, 1);
  EXPECT_EQ(int_level_, 1);
}

TEST_F(I8259AckTest, MaskedRequestIsNotAcknowledged) {
  out(0x21, 0x20);
  set(5, 1);
  EXPECT_EQ(int_level_, 0);
  EXPECT_EQ(pic_read_irq(*pics_.master), 0x27);
  EXPECT_EQ(pics_.master->irr(), 0x20) << "still requested";
  out(0x21, 0x00);
  EXPECT_EQ(int_level_, 1);
  EXPECT_EQ(pic_read_irq(*pics_.master), 0x25);
}

}  // namespace
}  // namespace machina
