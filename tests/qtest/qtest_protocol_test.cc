// The qtest text protocol (spec/qtest.md section 4) against the real binary: exact reply
// formats, memory access on -M none -m 16M, the virtual clock with the timer test device, GPIO
// interception with the GPIO test device, and -qtest-log.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "qtest/harness.h"

namespace machina::qtest {
namespace {

const char* kArgs =
    "-M none -m 16M -device machina-testdev-timer,id=t0 -device machina-testdev-gpio,id=g0";
constexpr uint16_t kTimer = 0xf100;  // +0: write delay (ns), +4: expiration count
constexpr uint16_t kGpio = 0xf200;   // +0: input levels, +4: output levels

class QtestProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_ = std::make_unique<QTestMachine>(kArgs);
    ASSERT_TRUE(m_->ok()) << m_->error();
  }
  void TearDown() override {
    if (m_->ok()) {
      EXPECT_EQ(m_->qtest_received().find('\r'), std::string::npos) << "qtest output has CR";
      m_->quit();
    }
  }
  std::string q(const std::string& cmd) { return m_->qtest(cmd); }
  std::unique_ptr<QTestMachine> m_;
};

TEST_F(QtestProtocolTest, Endianness) {
  EXPECT_EQ(q("endianness"), "OK little");
}

TEST_F(QtestProtocolTest, UnknownCommand) {
  EXPECT_EQ(q("frobnicate 1 2"), "FAIL Unknown command 'frobnicate'");
  EXPECT_EQ(q("endianness"), "OK little");
}

TEST_F(QtestProtocolTest, PortIoReplyFormat) {
  EXPECT_EQ(q("outl 0xf100 0"), "OK");
  EXPECT_EQ(q("inl 0xf104"), "OK 0x0000");
  EXPECT_EQ(q("set_irq_in /machine/peripheral/g0 unnamed-gpio-in 4 1"), "OK");
  EXPECT_EQ(q("inb 0xf200"), "OK 0x0010");
  EXPECT_EQ(q("inb 61952"), "OK 0x0010");  // decimal address
}

TEST_F(QtestProtocolTest, UnassignedPortsReadAllOnes) {
  EXPECT_EQ(q("outb 0x80 0x12"), "OK");
  EXPECT_EQ(q("outw 0x80 0x1234"), "OK");
  EXPECT_EQ(q("outl 0x80 0x12345678"), "OK");
  EXPECT_EQ(q("inb 0x80"), "OK 0x00ff");
  EXPECT_EQ(q("inw 0x80"), "OK 0xffff");
  EXPECT_EQ(q("inl 0x80"), "OK 0xffffffff");
}

TEST_F(QtestProtocolTest, MemoryWordAccesses) {
  EXPECT_EQ(q("writeb 0x1000 0x12"), "OK");
  EXPECT_EQ(q("writew 0x1002 0x3456"), "OK");
  EXPECT_EQ(q("writel 0x1004 0x89abcdef"), "OK");
  EXPECT_EQ(q("writeq 0x1008 0x0123456789abcdef"), "OK");
  EXPECT_EQ(q("readb 0x1000"), "OK 0x0000000000000012");
  EXPECT_EQ(q("readw 0x1002"), "OK 0x0000000000003456");
  EXPECT_EQ(q("readl 0x1004"), "OK 0x0000000089abcdef");
  EXPECT_EQ(q("readq 0x1008"), "OK 0x0123456789abcdef");
  EXPECT_EQ(q("readl 4100"), "OK 0x0000000089abcdef");  // decimal
  // Little-endian layout, lowercase hex.
  EXPECT_EQ(q("read 0x1000 16"), "OK 0x12005634efcdab89efcdab8967452301");
  EXPECT_EQ(m_->readb(0xfff000), 0);  // RAM starts zeroed, up to the last page
  m_->writel(0xfffffc, 0xa5a5a5a5);
  EXPECT_EQ(m_->readl(0xfffffc), 0xa5a5a5a5u);
}

TEST_F(QtestProtocolTest, ReadWriteHex) {
  EXPECT_EQ(q("write 0x2000 4 0xDEADBEEF"), "OK");
  EXPECT_EQ(q("read 0x2000 4"), "OK 0xdeadbeef");
  EXPECT_EQ(m_->readl(0x2000), 0xefbeaddeu);
  // Missing digits are zeros.
  EXPECT_EQ(q("write 0x2010 4 0xab"), "OK");
  EXPECT_EQ(q("read 0x2010 4"), "OK 0xab000000");
  EXPECT_EQ(q("read 0x2010 1"), "OK 0xab");
}

TEST_F(QtestProtocolTest, Base64) {
  EXPECT_EQ(q("b64write 0x3000 5 aGVsbG8="), "OK");
  EXPECT_EQ(q("read 0x3000 5"), "OK 0x68656c6c6f");
  EXPECT_EQ(q("b64read 0x3000 5"), "OK aGVsbG8=");
  EXPECT_EQ(q("b64read 0x3000 6"), "OK aGVsbG8A");
}

TEST_F(QtestProtocolTest, Memset) {
  EXPECT_EQ(q("memset 0x4000 8 0x5a"), "OK");
  EXPECT_EQ(q("read 0x4000 9"), "OK 0x5a5a5a5a5a5a5a5a00");
  EXPECT_EQ(q("memset 0x4000 0 0x11"), "OK");
  EXPECT_EQ(q("read 0x4000 1"), "OK 0x5a");
}

TEST_F(QtestProtocolTest, CommandSplitAcrossWritesAndSeveralPerWrite) {
  m_->writel(0x1004, 0x01020304);
  ASSERT_TRUE(m_->qtest_send_raw("rea"));
  std::this_thread::sleep_for(Ms(20));
  EXPECT_EQ(q("dl 0x1004"), "OK 0x0000000001020304");
  ASSERT_TRUE(m_->qtest_send_raw("readb 0x1004\nreadb 0x1005\n"));
  EXPECT_EQ(m_->qtest_read_reply(), "OK 0x0000000000000004");
  EXPECT_EQ(m_->qtest_read_reply(), "OK 0x0000000000000003");
}

TEST_F(QtestProtocolTest, TimerExpiresOnClockStep) {
  int64_t t = m_->clock_set(0);  // a no-op: reads the clock
  EXPECT_GE(t, 0);
  EXPECT_EQ(q("irq_intercept_out /machine/peripheral/t0"), "OK");
  m_->outl(kTimer, 1000);
  EXPECT_EQ(m_->inl(kTimer + 4), 0u);
  EXPECT_EQ(q("clock_step 999"), "OK " + std::to_string(t + 999));
  EXPECT_TRUE(m_->last_irqs().empty());
  EXPECT_EQ(m_->inl(kTimer + 4), 0u);
  // No argument: up to the next deadline.
  EXPECT_EQ(q("clock_step"), "OK " + std::to_string(t + 1000));
  ASSERT_FALSE(m_->last_irqs().empty()) << "no IRQ line before the clock_step reply";
  EXPECT_EQ(m_->last_irqs()[0], "IRQ raise 0");
  // On the wire, the IRQ line precedes the reply.
  const std::string& wire = m_->qtest_received();
  size_t irq = wire.rfind("IRQ raise 0\n");
  size_t ok = wire.rfind("OK " + std::to_string(t + 1000) + "\n");
  ASSERT_NE(irq, std::string::npos);
  ASSERT_NE(ok, std::string::npos);
  EXPECT_LT(irq, ok);
  EXPECT_EQ(m_->inl(kTimer + 4), 1u);
  // clock_set to an absolute time fires timers due by then.
  m_->outl(kTimer, 500);
  EXPECT_EQ(q("clock_set " + std::to_string(t + 5000)), "OK " + std::to_string(t + 5000));
  EXPECT_EQ(m_->inl(kTimer + 4), 2u);
  // clock_set into the past is a no-op.
  EXPECT_EQ(q("clock_set 1"), "OK " + std::to_string(t + 5000));
}

std::vector<std::string> timer_transcript() {
  QTestMachine m(kArgs);
  EXPECT_TRUE(m.ok()) << m.error();
  if (!m.ok()) return {};
  std::vector<std::string> out;
  auto run = [&](const std::string& c) {
    out.push_back(c + " -> " + m.qtest(c));
    for (auto& i : m.last_irqs()) out.push_back("  " + i);
  };
  run("irq_intercept_out /machine/peripheral/t0");
  run("clock_set 0");
  run("outl 0xf100 12345");
  run("clock_step 100");
  run("clock_step");
  run("inl 0xf104");
  run("outl 0xf100 777");
  run("clock_step");
  run("clock_step 1000000");
  run("inl 0xf104");
  m.quit();
  return out;
}

TEST(QtestDeterminismTest, SameCommandsGiveSameClockValues) {
  auto a = timer_transcript();
  auto b = timer_transcript();
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

TEST_F(QtestProtocolTest, SetIrqInChangesGpioInputs) {
  EXPECT_EQ(m_->inb(kGpio), 0);
  EXPECT_EQ(q("set_irq_in /machine/peripheral/g0 unnamed-gpio-in 3 1"), "OK");
  EXPECT_EQ(m_->inb(kGpio), 0x08);
  EXPECT_EQ(q("set_irq_in g0 unnamed-gpio-in 5 1"), "OK");  // partial path
  EXPECT_EQ(m_->inb(kGpio), 0x28);
  EXPECT_EQ(q("set_irq_in /machine/peripheral/g0 unnamed-gpio-in 3 0"), "OK");
  EXPECT_EQ(m_->inb(kGpio), 0x20);
  EXPECT_EQ(q("set_irq_in /machine/peripheral/nope unnamed-gpio-in 3 0"), "FAIL Unknown device");
}

TEST_F(QtestProtocolTest, InterceptOutReportsOnlyChanges) {
  EXPECT_EQ(q("irq_intercept_out /machine/peripheral/g0"), "OK");
  m_->outb(kGpio + 4, 0x05);
  EXPECT_EQ(m_->last_irqs(), (std::vector<std::string>{"IRQ raise 0", "IRQ raise 2"}));
  m_->outb(kGpio + 4, 0x05);
  EXPECT_TRUE(m_->last_irqs().empty());
  m_->outb(kGpio + 4, 0x84);
  EXPECT_EQ(m_->last_irqs(), (std::vector<std::string>{"IRQ lower 0", "IRQ raise 7"}));
}

TEST_F(QtestProtocolTest, InterceptInReportsInputChangesInsteadOfTheDevice) {
  EXPECT_EQ(q("irq_intercept_in /machine/peripheral/g0"), "OK");
  EXPECT_EQ(q("set_irq_in /machine/peripheral/g0 unnamed-gpio-in 2 1"), "OK");
  EXPECT_EQ(m_->last_irqs(), (std::vector<std::string>{"IRQ raise 2"}));
  EXPECT_EQ(m_->inb(kGpio), 0) << "the intercepted input still reached the device";
  EXPECT_EQ(q("set_irq_in /machine/peripheral/g0 unnamed-gpio-in 2 0"), "OK");
  EXPECT_EQ(m_->last_irqs(), (std::vector<std::string>{"IRQ lower 2"}));
}

TEST(QtestStartTest, TraceOptionRightAfterTheBinaryName) {
  QTestOptions opts;
  opts.prefix_args = "-trace enable=no_such_event_*";
  QTestMachine m("-M none", opts);
  ASSERT_TRUE(m.ok()) << m.error();
  m.quit();
}

TEST_F(QtestProtocolTest, InterceptErrors) {
  EXPECT_EQ(q("irq_intercept_out /machine/peripheral/nope"), "FAIL Unknown device");
  EXPECT_EQ(q("irq_intercept_out /machine/peripheral/t0"), "OK");
  EXPECT_EQ(q("irq_intercept_out /machine/peripheral/t0"), "OK");  // same device again
  EXPECT_EQ(q("irq_intercept_out /machine/peripheral/g0"), "FAIL IRQ intercept already enabled");
  EXPECT_EQ(q("irq_intercept_in /machine/peripheral/g0"), "FAIL IRQ intercept already enabled");
}

TEST_F(QtestProtocolTest, ModuleLoadAnswers) {
  std::string r = q("module_load block no-such-module");
  EXPECT_TRUE(r == "OK" || r.rfind("FAIL", 0) == 0) << r;
  EXPECT_EQ(q("endianness"), "OK little");
}

TEST(QtestLogTest, LogLineFormats) {
  TempPath log("log");
  QTestOptions opts;
  opts.qtest_log = log.str();
  QTestMachine m(kArgs, opts);
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m.qtest("irq_intercept_out /machine/peripheral/t0"), "OK");
  m.outl(kTimer, 10);
  m.clock_step();
  m.close_qtest();
  std::this_thread::sleep_for(Ms(200));
  EXPECT_TRUE(m.child().running()) << "closing the qtest socket ended the process";
  m.quit();

  std::ifstream in(log.str());
  ASSERT_TRUE(in) << "no log file";
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_GE(lines.size(), 3u);
  std::string all;
  for (auto& l : lines) all += l + "\n";
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(\[I [0-9]+\.[0-9]{6}\] OPENED)"))) << all;
  EXPECT_TRUE(std::regex_match(lines[1], std::regex(R"(\[R \+[0-9]+\.[0-9]{6}\] endianness)")))
      << all;
  EXPECT_TRUE(std::regex_match(lines[2], std::regex(R"(\[S \+[0-9]+\.[0-9]{6}\] OK little)")))
      << all;
  EXPECT_NE(all.find("] outl 0xf100 0xa\n"), std::string::npos) << all;
  EXPECT_TRUE(std::regex_match(lines.back(), std::regex(R"(\[I \+[0-9]+\.[0-9]{6}\] CLOSED)")))
      << all;
  for (auto& l : lines) {
    EXPECT_TRUE(std::regex_match(l, std::regex(R"(\[(R \+|S \+|I \+?)[0-9]+\.[0-9]{6}\] .*)")))
        << "bad log line: " << l;
  }
}

}  // namespace
}  // namespace machina::qtest
