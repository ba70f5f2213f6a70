// qtest with the test devices: port I/O, IRQ interception, set_irq_in, clock determinism.
#include <string>

#include "hw/misc/testdev.h"
#include "qtest_fixture.h"

namespace machina::test {
namespace {

TEST_F(QtestSessionTest, TestDevicesAreUserCreatableMiscDevices) {
  for (const char* t : {kTypeTestdevTimer, kTypeTestdevGpio}) {
    const TypeImpl* ti = type_lookup(t);
    ASSERT_NE(ti, nullptr) << t;
    auto& dc = static_cast<const DeviceClass&>(ti->klass());
    EXPECT_TRUE(dc.user_creatable);
    EXPECT_TRUE(dc.bus_type.empty());
    EXPECT_EQ(dc.category, "Misc devices");
    EXPECT_FALSE(dc.description.empty());
    EXPECT_NE(dc.find_property("iobase"), nullptr);
  }
}

TEST_F(QtestSessionTest, PortIoReachesTheGpioDevice) {
  ASSERT_NE(add_device(kTypeTestdevGpio, "gpio0"), nullptr);
  EXPECT_EQ(cmd("outl 0xf204 0x1a5"), "OK\n");
  EXPECT_EQ(cmd("inl 0xf204"), "OK 0x00a5\n");
  EXPECT_EQ(cmd("inb 0xf204"), "OK 0x00a5\n");
  EXPECT_EQ(cmd("outb 0xf204 0x3c"), "OK\n");
  EXPECT_EQ(cmd("inw 0xf204"), "OK 0x003c\n");
  // Unassigned ports read all-ones of the access size.
  EXPECT_EQ(cmd("inb 0x9999"), "OK 0x00ff\n");
  EXPECT_EQ(cmd("inw 0x9999"), "OK 0xffff\n");
  EXPECT_EQ(cmd("inl 0x9999"), "OK 0xffffffff\n");
}

TEST_F(QtestSessionTest, DeviceUnmapsItsPortsWhenRemoved) {
  Device* d = add_device(kTypeTestdevGpio, "gpio0", {{"iobase", "0x300"}});
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(cmd("outb 0x304 7"), "OK\n");
  EXPECT_EQ(cmd("inb 0x304"), "OK 0x0007\n");
  d->unparent();
  EXPECT_EQ(cmd("inb 0x304"), "OK 0x00ff\n");
}

TEST_F(QtestSessionTest, SetIrqInDrivesUnnamedInputs) {
  ASSERT_NE(add_device(kTypeTestdevGpio, "gpio0"), nullptr);
  EXPECT_EQ(cmd("set_irq_in gpio0 unnamed-gpio-in 3 1"), "OK\n");
  EXPECT_EQ(cmd("set_irq_in /machine/peripheral/gpio0 unnamed-gpio-in 0 1"), "OK\n");
  EXPECT_EQ(cmd("inb 0xf200"), "OK 0x0009\n");
  EXPECT_EQ(cmd("set_irq_in gpio0 unnamed-gpio-in 3 0"), "OK\n");
  EXPECT_EQ(cmd("inb 0xf200"), "OK 0x0001\n");
  EXPECT_EQ(cmd("set_irq_in nosuch unnamed-gpio-in 0 1"), "FAIL Unknown device\n");
  EXPECT_EQ(cmd("set_irq_in gpio0 unnamed-gpio-in 8 1"),
            "FAIL no GPIO input unnamed-gpio-in[8] on device\n");
  EXPECT_EQ(cmd("set_irq_in gpio0 reset 0 1"), "FAIL no GPIO input reset[0] on device\n");
  EXPECT_EQ(cmd("set_irq_in gpio0 unnamed-gpio-in x 1"), "FAIL invalid number 'x'\n");
}

TEST_F(QtestSessionTest, InterceptOutReportsOnlyChangesBeforeTheReply) {
  ASSERT_NE(add_device(kTypeTestdevGpio, "gpio0"), nullptr);
  EXPECT_EQ(cmd("irq_intercept_out gpio0"), "OK\n");
  EXPECT_EQ(cmd("outb 0xf204 0x05"), "IRQ raise 0\nIRQ raise 2\nOK\n");
  EXPECT_EQ(cmd("outb 0xf204 0x05"), "OK\n");  // no change, no line
  EXPECT_EQ(cmd("outb 0xf204 0x84"), "IRQ lower 0\nIRQ raise 7\nOK\n");
  EXPECT_EQ(cmd("irq_intercept_out gpio0"), "OK\n");  // same device again
  EXPECT_EQ(cmd("outb 0xf204 0x00"), "IRQ lower 2\nIRQ lower 7\nOK\n");
}

TEST_F(QtestSessionTest, InterceptInTakesTheLinesFromTheDevice) {
  ASSERT_NE(add_device(kTypeTestdevGpio, "gpio0"), nullptr);
  EXPECT_EQ(cmd("irq_intercept_in gpio0"), "OK\n");
  EXPECT_EQ(cmd("set_irq_in gpio0 unnamed-gpio-in 6 1"), "IRQ raise 6\nOK\n");
  EXPECT_EQ(cmd("set_irq_in gpio0 unnamed-gpio-in 6 1"), "OK\n");
  EXPECT_EQ(cmd("inb 0xf200"), "OK 0x0000\n");  // the device no longer sees its inputs
  EXPECT_EQ(cmd("set_irq_in gpio0 unnamed-gpio-in 6 0"), "IRQ lower 6\nOK\n");
}

TEST_F(QtestSessionTest, InterceptInSeesAnotherDevicesOutputs) {
  Device* src = add_device(kTypeTestdevGpio, "src", {{"iobase", "0x400"}});
  Device* dst = add_device(kTypeTestdevGpio, "dst", {{"iobase", "0x500"}});
  ASSERT_TRUE(src && dst);
  for (int i = 0; i < kTestdevGpioLines; ++i) src->connect_gpio_out("", i, dst->gpio_in("", i));
  EXPECT_EQ(cmd("outb 0x404 0x30"), "OK\n");
  EXPECT_EQ(cmd("inb 0x500"), "OK 0x0030\n");  // wired through
  EXPECT_EQ(cmd("irq_intercept_in dst"), "OK\n");
  // As QEMU, the levels qtest compares against start at 0 when the connection opens, not at the
  // lines' levels: line 4 (already high, set again) is reported, line 5 (0 again) is not.
  EXPECT_EQ(cmd("outb 0x404 0x11"), "IRQ raise 0\nIRQ raise 4\nOK\n");
  EXPECT_EQ(cmd("outb 0x404 0x01"), "IRQ lower 4\nOK\n");
}

TEST_F(QtestSessionTest, InterceptErrors) {
  ASSERT_NE(add_device(kTypeTestdevGpio, "gpio0"), nullptr);
  ASSERT_NE(add_device(kTypeTestdevTimer, "tmr"), nullptr);
  EXPECT_EQ(cmd("irq_intercept_in nosuch"), "FAIL Unknown device\n");
  EXPECT_EQ(cmd("irq_intercept_out /machine"), "FAIL Unknown device\n");  // not a device
  EXPECT_EQ(cmd("irq_intercept_in gpio0"), "OK\n");
  EXPECT_EQ(cmd("irq_intercept_out tmr"), "FAIL IRQ intercept already enabled\n");
  EXPECT_EQ(cmd("irq_intercept_in tmr"), "FAIL IRQ intercept already enabled\n");
  EXPECT_EQ(cmd("irq_intercept_out gpio0"), "OK\n");
}

TEST_F(QtestSessionTest, TimerDeviceIsDeterministicUnderClockStep) {
  ASSERT_NE(add_device(kTypeTestdevTimer, "tmr"), nullptr);
  EXPECT_EQ(cmd("irq_intercept_out tmr"), "OK\n");
  EXPECT_EQ(cmd("outl 0xf100 1000"), "OK\n");
  EXPECT_EQ(cmd("inl 0xf100"), "OK 0x03e8\n");
  EXPECT_EQ(cmd("clock_step 999"), "OK 999\n");
  EXPECT_EQ(cmd("inl 0xf104"), "OK 0x0000\n");
  EXPECT_EQ(cmd("clock_step 1"), "IRQ raise 0\nOK 1000\n");
  EXPECT_EQ(cmd("inl 0xf104"), "IRQ lower 0\nOK 0x0001\n");
  // clock_step without argument jumps exactly to the next deadline.
  EXPECT_EQ(cmd("outl 0xf100 250"), "OK\n");
  EXPECT_EQ(cmd("clock_step"), "IRQ raise 0\nOK 1250\n");
  EXPECT_EQ(cmd("clock_step"), "OK 1250\n");  // nothing armed any more
  EXPECT_EQ(cmd("inl 0xf104"), "IRQ lower 0\nOK 0x0002\n");
  // clock_set past a deadline fires it once.
  EXPECT_EQ(cmd("outl 0xf100 100"), "OK\n");
  EXPECT_EQ(cmd("clock_set 5000"), "IRQ raise 0\nOK 5000\n");
  EXPECT_EQ(cmd("inl 0xf104"), "IRQ lower 0\nOK 0x0003\n");
  // Writing 0 disarms.
  EXPECT_EQ(cmd("outl 0xf100 100"), "OK\n");
  EXPECT_EQ(cmd("outl 0xf100 0"), "OK\n");
  EXPECT_EQ(cmd("clock_step 1000"), "OK 6000\n");
  EXPECT_EQ(cmd("inl 0xf104"), "OK 0x0003\n");
}

TEST_F(QtestSessionTest, TimerDeviceInputList) {
  ASSERT_NE(add_device(kTypeTestdevTimer, "tmr", {{"iobase", "0x700"}}), nullptr);
  EXPECT_EQ(cmd("set_irq_in tmr unnamed-gpio-in 0 1"), "OK\n");
  EXPECT_EQ(cmd("inl 0x708"), "OK 0x0001\n");
  EXPECT_EQ(cmd("irq_intercept_in tmr"), "OK\n");
  EXPECT_EQ(cmd("set_irq_in tmr unnamed-gpio-in 0 0"), "OK\n");  // qtest's level starts at 0
  EXPECT_EQ(cmd("inl 0x708"), "OK 0x0001\n");  // the device did not see the change
  EXPECT_EQ(cmd("set_irq_in tmr unnamed-gpio-in 0 1"), "IRQ raise 0\nOK\n");
}

TEST_F(QtestSessionTest, OpenedResetsReportedLevels) {
  ASSERT_NE(add_device(kTypeTestdevGpio, "gpio0"), nullptr);
  EXPECT_EQ(cmd("irq_intercept_out gpio0"), "OK\n");
  EXPECT_EQ(cmd("outb 0xf204 1"), "IRQ raise 0\nOK\n");
  session->closed();
  session->opened();
  EXPECT_EQ(cmd("outb 0xf204 1"), "IRQ raise 0\nOK\n");  // reported again after a reconnect
}

TEST_F(QtestSessionTest, InterceptedLinesOutliveTheSession) {
  Device* d = add_device(kTypeTestdevGpio, "gpio0");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(cmd("irq_intercept_out gpio0"), "OK\n");
  session.reset();
  out.clear();
  d->set_gpio_out("", 0, 1);  // reaches a relay without a session: dropped
  EXPECT_EQ(out, "");
  session = make_session(nullptr);
  EXPECT_EQ(cmd("irq_intercept_in gpio0"), "OK\n");  // a new session starts afresh
}

}  // namespace
}  // namespace machina::test
