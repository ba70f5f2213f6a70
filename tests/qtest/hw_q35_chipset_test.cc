// The q35 chipset as the running machine wires it (pc_q35.cc, pc-platform.cc): PCI configuration
// through 0xCF8/0xCFC and ECAM, the LPC's ACPI PM block at 0x600 with its timer, soft-off and
// power button, reset through 0xCF9, the ACPI tables in the F segment, fw_cfg at 0x510, and the
// monitor's view of the PCI bus (query-pci, info pci).
#include <string>

#include "qtest/hw_pc_qtest.h"

namespace machina::qtest {
namespace {

class Q35ChipsetTest : public PcQtest {
 protected:
  uint32_t cfg_read(int dev, int fn, unsigned reg) {
    m().outl(0xcf8, 0x80000000u | uint32_t(dev) << 11 | uint32_t(fn) << 8 | reg);
    return m().inl(0xcfc);
  }
  uint16_t pm_readw(unsigned off) { return m().inw(uint16_t(0x600 + off)); }
  uint32_t pm_timer() { return m().inl(0x608) & 0xffffff; }

  std::string fw_cfg_bytes(uint16_t key, size_t n) {
    m().outw(0x510, key);
    std::string s;
    for (size_t i = 0; i < n; ++i) s += char(inb(0x511));
    return s;
  }
  uint32_t fw_cfg_be32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | inb(0x511);
    return v;
  }
};

TEST_F(Q35ChipsetTest, HostBridgeAndLpcAnswerOnTheConfigPorts) {
  start();
  EXPECT_EQ(cfg_read(0, 0, 0), 0x29c08086u) << "MCH 00.0";
  EXPECT_EQ(cfg_read(31, 0, 0), 0x29188086u) << "ICH9-LPC 1f.0";
  EXPECT_EQ(cfg_read(31, 0, 8) >> 8, 0x060100u) << "ISA bridge class";
  EXPECT_EQ(cfg_read(1, 0, 0), 0xffffffffu) << "empty slot";
}

TEST_F(Q35ChipsetTest, FirmwareSetUpEnablesEcamPmBaseAndPirqRouting) {
  start();
  EXPECT_EQ(cfg_read(0, 0, 0x60), 0xb0000001u) << "PCIEXBAR: 256 MiB at 0xb0000000, enabled";
  EXPECT_EQ(m().readl(0xb0000000), 0x29c08086u) << "ECAM 00:00.0";
  EXPECT_EQ(m().readl(0xb0000000 + (31u << 15)), 0x29188086u) << "ECAM 00:1f.0";
  EXPECT_EQ(cfg_read(31, 0, 0x40), 0x601u) << "PMBASE";
  EXPECT_EQ(cfg_read(31, 0, 0x44) & 0xff, 0x80u) << "ACPI_EN, SCI on IRQ 9";
  EXPECT_EQ(cfg_read(31, 0, 0x60), 0x0b0b0a0au) << "PIRQA-D";
  EXPECT_EQ(inb(0x4d1) & 0x0c, 0x0c) << "IRQ 10 and 11 level-triggered";
}

TEST_F(Q35ChipsetTest, EcamWritesReachTheDevice) {
  start();
  // The LPC's RCBA (0xf0) through ECAM, read back through 0xCF8/0xCFC.
  m().writel(0xb0000000 + (31u << 15) + 0xf0, 0xfed20001);
  EXPECT_EQ(cfg_read(31, 0, 0xf0), 0xfed20001u);
}

TEST_F(Q35ChipsetTest, PmTimerRunsAt3579545HzOnTheVirtualClock) {
  start();
  uint32_t t0 = pm_timer();
  step(1'000'000'000);
  uint32_t t1 = pm_timer();
  EXPECT_EQ((t1 - t0) & 0xffffff, 3579545u & 0xffffff);
  EXPECT_EQ(pm_readw(4) & 1, 1) << "SCI_EN: ACPI mode from reset";
}

TEST_F(Q35ChipsetTest, SleepTypeS5IsASoftOff) {
  start();
  m().outw(0x604, 0x2000 | 0x0001);  // SLP_EN, SLP_TYP 0 (\_S5), SCI_EN
  auto ev = m().wait_event("SHUTDOWN");
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ((*ev)["data"]["guest"], true);
  EXPECT_EQ((*ev)["data"]["reason"], "guest-shutdown");
  ExitStatus st = m().child().wait_or_kill(Ms(5000));
  EXPECT_TRUE(st.ok()) << st.describe();
}

TEST_F(Q35ChipsetTest, ResetControlRegisterResetsAndFirmwareSetUpIsRedone) {
  start();
  m().writel(0xb0000000 + (31u << 15) + 0x60, 0x80808080);  // guest un-routes PIRQA-D
  outb(0xcf9, 0x06);
  auto ev = m().wait_event("RESET");
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ((*ev)["data"]["reason"], "guest-reset");
  EXPECT_EQ(cfg_read(31, 0, 0x60), 0x0b0b0a0au) << "routing as firmware leaves it";
  EXPECT_EQ(m().readl(0xb0000000), 0x29c08086u) << "ECAM enabled again";
}

TEST_F(Q35ChipsetTest, SystemPowerdownPressesThePowerButtonAndRaisesSci) {
  start();
  intercept_gsi();
  m().outw(0x602, 0x0100);  // PWRBTN_EN
  m().qmp("system_powerdown");
  ASSERT_TRUE(m().wait_event("POWERDOWN").has_value());
  EXPECT_EQ(pm_readw(0) & 0x0100, 0x0100) << "PWRBTN_STS";
  EXPECT_EQ(irq(9), 1) << "SCI asserted on GSI 9";
  m().outw(0x600, 0x0100);  // write 1 to clear
  EXPECT_EQ(pm_readw(0) & 0x0100, 0);
  EXPECT_EQ(irq(9), 0) << "SCI released";
}

TEST_F(Q35ChipsetTest, AcpiTablesAreInTheFSegment) {
  start();
  std::string sig;
  for (int i = 0; i < 8; ++i) sig += char(m().readb(0xf0000 + i));
  EXPECT_EQ(sig, "RSD PTR ");
  uint8_t sum = 0;
  for (int i = 0; i < 20; ++i) sum = uint8_t(sum + m().readb(0xf0000 + i));
  EXPECT_EQ(sum, 0) << "RSDP checksum";
  uint64_t xsdt = m().readq(0xf0000 + 24);
  EXPECT_EQ(m().readl(xsdt), 0x54445358u) << "XSDT signature";
}

TEST_F(Q35ChipsetTest, AcpiTablesDescribeTheComPortsOfTheCommandLine) {
  start("-serial null -serial null");
  uint64_t xsdt = m().readq(0xf0000 + 24);
  uint32_t xsdt_len = m().readl(xsdt + 4);
  uint64_t dsdt_len = 0;
  for (uint64_t p = xsdt + 36; p < xsdt + xsdt_len; p += 8) {
    uint64_t t = m().readq(p);
    if (m().readl(t) == 0x50434146) {  // "FACP"
      uint64_t dsdt = m().readq(t + 140);
      dsdt_len = m().readl(dsdt + 4);
      std::string body;
      for (uint64_t i = 0; i < dsdt_len; ++i) body += char(m().readb(dsdt + i));
      EXPECT_NE(body.find("COM1"), std::string::npos);
      EXPECT_NE(body.find("COM2"), std::string::npos);
      EXPECT_EQ(body.find("COM3"), std::string::npos);
    }
  }
  EXPECT_GT(dsdt_len, 36u) << "a FADT pointing at a DSDT";
}

TEST_F(Q35ChipsetTest, FwCfgSignatureAndFiles) {
  start("-m 256M");
  EXPECT_EQ(fw_cfg_bytes(0x0000, 4), "QEMU");
  m().outw(0x510, 0x0001);
  EXPECT_EQ(inb(0x511) & 3, 3) << "traditional and DMA interfaces";
  std::string ram = fw_cfg_bytes(0x0003, 8);
  uint64_t ram_size = 0;
  for (int i = 7; i >= 0; --i) ram_size = ram_size << 8 | uint8_t(ram[size_t(i)]);
  EXPECT_EQ(ram_size, 256ull << 20);

  m().outw(0x510, 0x0019);
  uint32_t count = fw_cfg_be32();
  std::string names;
  for (uint32_t i = 0; i < count; ++i) {
    for (int b = 0; b < 8; ++b) inb(0x511);  // size, select, reserved
    std::string name;
    for (int b = 0; b < 56; ++b) {
      char c = char(inb(0x511));
      if (c) name += c;
    }
    names += name + " ";
  }
  for (const char* f : {"etc/acpi/rsdp", "etc/acpi/tables", "etc/e820", "etc/table-loader"}) {
    EXPECT_NE(names.find(std::string(f) + " "), std::string::npos) << f << ": " << names;
  }
}

TEST_F(Q35ChipsetTest, FwCfgDmaReadsAnItemIntoRam) {
  start("-m 256M");
  // FWCfgDmaAccess at 0x2000: select key 0x03 (RAM size, 8 bytes), read 6 of them to 0x3000.
  m().writel(0x2000, __builtin_bswap32(0x03u << 16 | 0x08 | 0x02));
  m().writel(0x2004, __builtin_bswap32(6));
  m().writeq(0x2008, __builtin_bswap64(0x3000));
  m().writew(0x3006, 0xabcd);
  m().outl(0x514, 0);
  m().outl(0x518, __builtin_bswap32(0x2000));
  EXPECT_EQ(m().readl(0x2000), 0u) << "control: done, no error";
  EXPECT_EQ(m().readl(0x3000), 256u << 20) << "little-endian RAM size";
  EXPECT_EQ(m().readw(0x3004), 0u);
  EXPECT_EQ(m().readw(0x3006), 0xabcdu) << "nothing past the 6 bytes asked for";
}

TEST_F(Q35ChipsetTest, QueryPciAndInfoPciListTheBus) {
  start();
  json r = m().qmp("query-pci");
  ASSERT_TRUE(r.contains("return")) << r.dump();
  ASSERT_EQ(r["return"].size(), 1u) << r.dump();
  const json& devs = r["return"][0]["devices"];
  ASSERT_EQ(devs.size(), 2u) << r.dump();
  EXPECT_EQ(devs[0]["id"]["device"], 0x29c0);
  EXPECT_EQ(devs[1]["slot"], 31);
  EXPECT_EQ(devs[1]["class_info"]["desc"], "ISA bridge");
  json h = m().qmp("human-monitor-command", {{"command-line", "info pci"}});
  std::string text = h["return"].get<std::string>();
  EXPECT_NE(text.find("Host bridge: PCI device 8086:29c0"), std::string::npos) << text;
  EXPECT_NE(text.find("ISA bridge: PCI device 8086:2918"), std::string::npos) << text;
}

}  // namespace
}  // namespace machina::qtest
