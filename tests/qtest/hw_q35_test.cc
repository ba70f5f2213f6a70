// The q35 machine: its listing, the RAM split around the PCI hole and the CMOS memory-size fields
// (as QEMU's pc_q35_init and pc_cmos_init), COM ports from -serial, the dummy ports, the i8042
// (Linux's probe sequence and the CPU reset line), isa-debug-exit and isa-debugcon.
#include <fstream>
#include <sstream>

#include "qtest/hw_pc_qtest.h"

namespace machina::qtest {
namespace {

using Q35Test = PcQtest;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(Q35Machine, ListedAsTheDefault) {
  auto r = run_machina({"-M", "help"});
  ASSERT_TRUE(r.status.ok()) << r.status.describe();
  EXPECT_NE(
      r.out.find("q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)\n"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("pc-q35-7.2           Standard PC (Q35 + ICH9, 2009) (default)\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\nnone "), std::string::npos) << r.out;
}

TEST(Q35Machine, RunsWithQmp) {
  RawMachine m({"-M", "q35", "-display", "none"}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto qmp = m.connect(0);
  ASSERT_TRUE(qmp);
  json ms = qmp->execute("query-machines");
  bool found = false;
  for (const auto& e : ms["return"]) {
    if (e["name"] == "pc-q35-7.2") {
      found = true;
      EXPECT_EQ(e["alias"], "q35");
      EXPECT_EQ(e["is-default"], true);
      EXPECT_EQ(e["default-ram-id"], "pc.ram");
    }
  }
  EXPECT_TRUE(found) << ms.dump();
  json st = qmp->execute("query-status");
  EXPECT_EQ(st["return"]["status"], "running") << st.dump();
  qmp->execute("quit");
  EXPECT_TRUE(m.wait_exit().ok());
}

TEST_F(Q35Test, DefaultMachineHasTheIsaDevices) {
  m_ = std::make_unique<QTestMachine>("");  // no -M: q35 is the default
  ASSERT_TRUE(m_->ok()) << m_->error();
  json r = m().qmp("qom-list", {{"path", "/machine"}});
  std::string names;
  for (const auto& p : r["return"]) names += p["name"].get<std::string>() + " ";
  for (const char* dev : {"pic-master", "pic-slave", "pit", "pcspk", "rtc", "i8042", "gsi"}) {
    EXPECT_NE(names.find(std::string(dev) + " "), std::string::npos) << dev << ": " << names;
  }
  EXPECT_EQ(inb(0x71 - 1), 0xff);
  EXPECT_EQ(cmos(0x0a), 0x26) << "the RTC answers";
}

// The CMOS fields for -m SIZE: {0x15,0x16, 0x17,0x18, 0x30,0x31, 0x34,0x35, 0x5b,0x5c,0x5d}.
struct CmosCase {
  const char* mem;
  uint8_t bytes[11];
};

TEST_F(Q35Test, CmosMemorySizeFields) {
  const CmosCase cases[] = {
      // 128 MiB (the default): 640 KiB base, 65535 KiB extended (capped), 112 MiB above 16 MiB.
      {"128M", {0x80, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07, 0, 0, 0}},
      // 8 MiB: 7168 KiB extended, nothing above 16 MiB.
      {"8M", {0x80, 0x02, 0x00, 0x1c, 0x00, 0x1c, 0x00, 0x00, 0, 0, 0}},
      // Just below 0xb0000000: all below 4 GiB, (2815 - 16) MiB / 64 KiB = 44784.
      {"2815M", {0x80, 0x02, 0xff, 0xff, 0xff, 0xff, 0xf0, 0xae, 0, 0, 0}},
      // 0xb0000000 and more: 2 GiB below (32512 units above 16 MiB), the rest above 4 GiB.
      {"2816M", {0x80, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00, 0x7f, 0x00, 0x30, 0x00}},
      {"4G", {0x80, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00, 0x7f, 0x00, 0x80, 0x00}},
  };
  const uint8_t idx[11] = {0x15, 0x16, 0x17, 0x18, 0x30, 0x31, 0x34, 0x35, 0x5b, 0x5c, 0x5d};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.mem);
    m_ = std::make_unique<QTestMachine>(std::string("-M q35 -m ") + c.mem);
    ASSERT_TRUE(m_->ok()) << m_->error();
    for (int i = 0; i < 11; ++i) {
      EXPECT_EQ(cmos(idx[i]), c.bytes[i]) << "CMOS 0x" << std::hex << int(idx[i]);
    }
    EXPECT_EQ(cmos(0x5f), 0x00) << "one CPU";
    m_->quit();
  }
}

TEST_F(Q35Test, RamSplitAroundThePciHole) {
  start("-m 3G");  // >= 0xb0000000: 2 GiB below 4 GiB, 1 GiB from 4 GiB
  m().writel(0x7ffffffc, 0x11223344);
  EXPECT_EQ(m().readl(0x7ffffffc), 0x11223344u);
  EXPECT_EQ(m().readl(0x80000000), 0xffffffffu) << "the hole is not RAM";
  m().writel(0x100000000, 0x55667788);
  m().writel(0x13ffffffc, 0x99aabbcc);
  EXPECT_EQ(m().readl(0x100000000), 0x55667788u);
  EXPECT_EQ(m().readl(0x13ffffffc), 0x99aabbccu);
  EXPECT_EQ(m().readl(0x140000000), 0xffffffffu);
}

TEST_F(Q35Test, SmallRamIsAllBelow4G) {
  start("-m 256M");
  m().writel(0xffffffc, 0xcafef00d);
  EXPECT_EQ(m().readl(0xffffffc), 0xcafef00du);
  EXPECT_EQ(m().readl(0x10000000), 0xffffffffu);
  EXPECT_EQ(m().readl(0x100000000), 0xffffffffu);
}

TEST_F(Q35Test, DummyPorts) {
  start();
  for (uint16_t port : {0x80, 0xed}) {
    outb(port, 0x12);
    EXPECT_EQ(inb(port), 0xff);
  }
}

TEST_F(Q35Test, SerialPortsFollowSerialOptions) {
  start("-serial null -serial null");
  EXPECT_EQ(inb(0x3f8 + 5), 0x60);
  EXPECT_EQ(inb(0x2f8 + 5), 0x60);
  EXPECT_EQ(inb(0x3e8 + 5), 0xff);
  json r = m().qmp("qom-get", {{"path", "/machine/serial1"}, {"property", "iobase"}});
  EXPECT_EQ(r["return"], 0x2f8) << r.dump();
  r = m().qmp("qom-get", {{"path", "/machine/serial1"}, {"property", "irq"}});
  EXPECT_EQ(r["return"], 3) << r.dump();
}

TEST_F(Q35Test, IsaSerialDeviceTakesTheNextIndex) {
  start("-serial null -device isa-serial,id=com2");
  EXPECT_EQ(inb(0x2f8 + 5), 0x60);
  json r = m().qmp("qom-get", {{"path", "com2"}, {"property", "index"}});
  EXPECT_EQ(r["return"], 1) << r.dump();
}

TEST(Q35Machine, IsaDevicesNeedAnIsaBus) {
  auto r = run_machina({"-M", "none", "-display", "none", "-device", "isa-debug-exit"});
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.err.find("No 'ISA' bus found for device 'isa-debug-exit'"), std::string::npos)
      << r.err;
}

// --- i8042

TEST_F(Q35Test, I8042SelfTestAndInterfaceTests) {
  start();
  intercept_gsi();
  EXPECT_EQ(inb(0x64) & 0x01, 0) << "output buffer empty after reset";
  outb(0x64, 0xaa);
  EXPECT_EQ(inb(0x64) & 0x05, 0x05) << "OBF and the system flag";
  EXPECT_EQ(irq(1), 1);
  EXPECT_EQ(inb(0x60), 0x55);
  EXPECT_EQ(irq(1), 0);
  EXPECT_EQ(inb(0x64) & 0x01, 0);
  outb(0x64, 0xab);
  EXPECT_EQ(inb(0x60), 0x00);
  outb(0x64, 0xa9);
  EXPECT_EQ(inb(0x60), 0x00);
}

TEST_F(Q35Test, I8042CommandByte) {
  start();
  outb(0x64, 0x20);
  EXPECT_EQ(inb(0x60), 0x03) << "keyboard and aux interrupts enabled after reset";
  outb(0x64, 0x60);
  outb(0x60, 0x65);
  outb(0x64, 0x20);
  EXPECT_EQ(inb(0x60), 0x65);
  outb(0x64, 0xa7);  // disable aux: command byte bit 5
  outb(0x64, 0x20);
  EXPECT_EQ(inb(0x60) & 0x20, 0x20);
  outb(0x64, 0xa8);
  outb(0x64, 0x20);
  EXPECT_EQ(inb(0x60) & 0x20, 0x00);
}

TEST_F(Q35Test, I8042AuxLoopbackRaisesIrq12) {
  start();
  intercept_gsi();
  outb(0x64, 0xd3);
  outb(0x60, 0x5a);
  EXPECT_EQ(inb(0x64) & 0x21, 0x21) << "OBF from the aux port";
  EXPECT_EQ(irq(12), 1);
  EXPECT_EQ(irq(1), 0);
  EXPECT_EQ(inb(0x60), 0x5a);
  EXPECT_EQ(irq(12), 0);
}

TEST_F(Q35Test, I8042KeyboardAndMouseCommands) {
  start();
  outb(0x60, 0xff);  // keyboard reset
  EXPECT_EQ(inb(0x60), 0xfa);
  EXPECT_EQ(inb(0x60), 0xaa);
  outb(0x60, 0xf2);  // identify, through translation (command byte bit 6 clear: none)
  EXPECT_EQ(inb(0x60), 0xfa);
  EXPECT_EQ(inb(0x60), 0xab);
  EXPECT_EQ(inb(0x60), 0x83);
  outb(0x60, 0xee);
  EXPECT_EQ(inb(0x60), 0xee);
  outb(0x64, 0xd4);
  outb(0x60, 0xf2);  // mouse identify
  EXPECT_EQ(inb(0x64) & 0x21, 0x21);
  EXPECT_EQ(inb(0x60), 0xfa);
  EXPECT_EQ(inb(0x60), 0x00);
}

TEST_F(Q35Test, I8042PulseResetLineResetsTheMachine) {
  start();
  set_cmos(0x40, 0x77);
  outb(0x64, 0xfe);
  auto ev = m().wait_event("RESET");
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ((*ev)["data"]["guest"], true);
  EXPECT_EQ((*ev)["data"]["reason"], "guest-reset");
  EXPECT_EQ(cmos(0x40), 0x77) << "CMOS memory survives a reset";
  outb(0x64, 0x20);
  EXPECT_EQ(inb(0x60), 0x03);
}

TEST_F(Q35Test, I8042OutputPortResetBit) {
  start();
  outb(0x64, 0xd0);
  uint8_t out = inb(0x60);
  EXPECT_EQ(out & 0x03, 0x03) << "reset line inactive, A20 on";
  outb(0x64, 0xd1);
  outb(0x60, out & ~0x01);
  auto ev = m().wait_event("RESET");
  EXPECT_TRUE(ev.has_value());
}

// --- isa-debug-exit, isa-debugcon

TEST_F(Q35Test, DebugExitStatus) {
  start("-device isa-debug-exit,iobase=0xf4,iosize=0x04");
  ASSERT_TRUE(m().qtest_send_raw("outb 0xf4 0x2a\n"));
  auto st = m().child().wait(Ms(5000));
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited) << st->describe();
  EXPECT_EQ(st->code, ((0x2a << 1) | 1) & 0xff);
}

TEST_F(Q35Test, DebugExitDefaultPort) {
  start("-device isa-debug-exit");
  ASSERT_TRUE(m().qtest_send_raw("outw 0x501 0x0\n"));
  auto st = m().child().wait(Ms(5000));
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited) << st->describe();
  EXPECT_EQ(st->code, 1);
}

TEST_F(Q35Test, DebugconWritesToItsChardev) {
  TempPath out("debugcon");
  start("-chardev file,id=dbg,path=" + out.str() + " -device isa-debugcon,chardev=dbg");
  for (char c : std::string("hi!\n")) outb(0xe9, uint8_t(c));
  EXPECT_EQ(inb(0xe9), 0xe9) << "readback";
  m().quit();
  EXPECT_EQ(slurp(out.str()), "hi!\n");
}

TEST_F(Q35Test, DebugconOtherPort) {
  TempPath out("debugcon");
  start("-chardev file,id=dbg,path=" + out.str() +
        " -device isa-debugcon,iobase=0x402,chardev=dbg");
  outb(0x402, 'x');
  EXPECT_EQ(inb(0x402), 0xe9);
  m().quit();
  EXPECT_EQ(slurp(out.str()), "x");
}

}  // namespace
}  // namespace machina::qtest
