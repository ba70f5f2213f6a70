// The ISA bus: IRQ lookup through the bus, I/O ports mapped at realize and unmapped at
// unrealize, and -device-style creation on it.
#include <gtest/gtest.h>

#include "hw/core/qdev-monitor.h"
#include "hw/isa/isa-bridge.h"
#include "system/memory.h"

namespace machina {
namespace {

class IsaBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bus = isa_bridge_create("test-isa-bridge2");
    ASSERT_TRUE(bus.ok()) << bus.message();
    bus_ = bus.value();
    for (int i = 0; i < kIsaNumIrqs; ++i) {
      lines_.push_back(std::make_unique<IrqLine>([this](int n, int l) { levels_[n] = l; }, i));
      bus_->set_irq(i, lines_.back().get());
    }
  }
  void TearDown() override {
    for (const char* c : {"/machine/peripheral", "/machine/peripheral-anon"}) {
      for (Object* o : container_get(c)->children()) o->unparent();
    }
    if (Object* b = object_resolve_path("/machine/test-isa-bridge2")) b->unparent();
  }
  uint8_t in(uint16_t port) {
    uint64_t v = 0;
    (void)address_space_io().read(port, 1, &v);
    return uint8_t(v);
  }

  IsaBus* bus_ = nullptr;
  std::vector<std::unique_ptr<IrqLine>> lines_;
  int levels_[kIsaNumIrqs] = {};
};

TEST_F(IsaBusTest, NameAndIrqs) {
  EXPECT_EQ(bus_->name(), "isa.0");
  EXPECT_EQ(bus_->irq(5), lines_[5].get());
  EXPECT_EQ(bus_->irq(16), nullptr);
  EXPECT_EQ(bus_->irq(-1), nullptr);
}

TEST_F(IsaBusTest, DevicePortsComeAndGo) {
  EXPECT_EQ(in(0xe9), 0xff);
  DeviceOptions o;
  o.driver = "isa-debugcon";
  o.id = "dc";
  auto r = qdev_device_add(o);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.value()->parent_bus(), bus_);
  EXPECT_EQ(in(0xe9), 0xe9);
  r.value()->unparent();
  EXPECT_EQ(in(0xe9), 0xff);
}

TEST_F(IsaBusTest, SerialIrqGoesThroughTheBus) {
  DeviceOptions o;
  o.driver = "isa-serial";
  o.id = "com";
  o.props = {{"index", json("1")}};
  auto r = qdev_device_add(o);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(in(0x2f8 + 5), 0x60);
  (void)address_space_io().write(0x2f8 + 1, 1, 0x02);  // THRI with THR empty
  EXPECT_EQ(levels_[3], 1);
  EXPECT_EQ(levels_[4], 0);
}

}  // namespace
}  // namespace machina
