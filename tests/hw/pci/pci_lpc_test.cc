// The ICH9 LPC's own registers: PMBASE / ACPI_CNTL and the PM block mapping hook, RCBA, the reset
// control register at 0xCF9, and the chipset set-up done in place of firmware.
#include "hw/pci-host/q35-firmware.h"
#include "pci_fixture.h"
#include "system/runstate.h"
#include "util/main-loop.h"

namespace machina::test {
namespace {

constexpr int kLpc = pci_devfn(31, 0);

class RecordingMapper : public Ich9PmMapper {
 public:
  void map(uint16_t base) override { log.push_back("map " + std::to_string(base)); }
  void unmap() override { log.push_back("unmap"); }
  std::vector<std::string> log;
};

TEST_F(PciTest, PmBaseIsMappedOnlyWithAcpiEnabled) {
  RecordingMapper mapper;
  lpc->set_pm_mapper(&mapper);
  EXPECT_TRUE(mapper.log.empty());
  cf8_write(kLpc, ich9::kPmBase, 0x0601, 4);
  EXPECT_TRUE(mapper.log.empty());  // ACPI_EN still off
  EXPECT_EQ(cf8_read(kLpc, ich9::kPmBase, 4), 0x0601u);
  cf8_write(kLpc, ich9::kAcpiCntl, ich9::kAcpiCntlAcpiEn, 1);
  ASSERT_EQ(mapper.log, (std::vector<std::string>{"map 1536"}));
  EXPECT_EQ(lpc->pm_io_base(), 0x600);
  // Moving the base moves the block.
  cf8_write(kLpc, ich9::kPmBase, 0x0b00, 2);
  EXPECT_EQ(mapper.log, (std::vector<std::string>{"map 1536", "unmap", "map 2816"}));
  // Same value again: nothing happens.
  cf8_write(kLpc, ich9::kPmBase, 0x0b00, 2);
  EXPECT_EQ(mapper.log.size(), 3u);
  cf8_write(kLpc, ich9::kAcpiCntl, 0x00, 1);
  EXPECT_EQ(mapper.log.back(), "unmap");
  EXPECT_EQ(lpc->pm_io_base(), 0);
  // Base 0 with ACPI_EN: nothing mapped (as QEMU).
  cf8_write(kLpc, ich9::kPmBase, 0, 4);
  cf8_write(kLpc, ich9::kAcpiCntl, ich9::kAcpiCntlAcpiEn, 1);
  EXPECT_EQ(mapper.log.back(), "unmap");
  EXPECT_EQ(lpc->pm_io_base(), 0);
  lpc->set_pm_mapper(nullptr);
}

TEST_F(PciTest, PmMapperSetLateSeesTheCurrentState) {
  cf8_write(kLpc, ich9::kPmBase, 0x0600, 4);
  cf8_write(kLpc, ich9::kAcpiCntl, ich9::kAcpiCntlAcpiEn, 1);
  RecordingMapper mapper;
  lpc->set_pm_mapper(&mapper);
  EXPECT_EQ(mapper.log, (std::vector<std::string>{"map 1536"}));
  lpc->set_pm_mapper(nullptr);
  EXPECT_EQ(mapper.log.back(), "unmap");
}

TEST_F(PciTest, PmBaseAndAcpiCntlReadOnlyBits) {
  cf8_write(kLpc, ich9::kPmBase, 0xffffffff, 4);
  EXPECT_EQ(cf8_read(kLpc, ich9::kPmBase, 4), 0x0000ff81u);  // bits 15:7, RTE reads 1
  cf8_write(kLpc, ich9::kPmBase, 0, 4);
  EXPECT_EQ(cf8_read(kLpc, ich9::kPmBase, 4), 0x00000001u);
  cf8_write(kLpc, ich9::kAcpiCntl, 0xff, 1);
  EXPECT_EQ(cf8_read(kLpc, ich9::kAcpiCntl, 1), 0x87u);
  cf8_write(kLpc, ich9::kRcba, 0xffffffff, 4);
  EXPECT_EQ(cf8_read(kLpc, ich9::kRcba, 4), 0xffffc001u);
}

int g_resets = 0;

TEST_F(PciTest, Cf9RstCpuRequestsASystemReset) {
  static bool registered = false;
  if (!registered) {
    qemu_register_reset([] { ++g_resets; });
    registered = true;
  }
  int before = g_resets;
  cf8_write(kLpc, ich9::kPirqaRout, 0x0b, 1);
  // Linux's reboot=pci: SYS_RST, then SYS_RST | RST_CPU.
  io_write(0xcf9, 1, 0x02);
  while (main_loop().run_once(0)) {
  }
  EXPECT_EQ(g_resets, before);
  EXPECT_EQ(io_read(0xcf9, 1), 0x02u);
  io_write(0xcf9, 1, 0x06);
  while (main_loop().run_once(0)) {
  }
  EXPECT_EQ(g_resets, before + 1);
  // The reset went through the device tree: the LPC's registers are back to their defaults.
  EXPECT_EQ(cf8_read(kLpc, ich9::kPirqaRout, 1), 0x80u);
  EXPECT_EQ(io_read(0xcf9, 1), 0x00u);
}

TEST_F(PciTest, FirmwareInitSetsUpTheChipset) {
  RecordingMapper mapper;
  lpc->set_pm_mapper(&mapper);
  ASSERT_TRUE(q35_firmware_init(*bus).ok());
  EXPECT_EQ(host->mmcfg_base(), kEcamBase);
  EXPECT_EQ(ecam_read(0, pci::kVendorId, 2), 0x8086u);
  EXPECT_EQ(mapper.log, (std::vector<std::string>{"map 1536"}));
  EXPECT_EQ(lpc->sci_irq(), 9);
  EXPECT_EQ(cf8_read(kLpc, ich9::kPirqaRout, 4), 0x0b0b0a0au);
  EXPECT_EQ(cf8_read(kLpc, ich9::kPirqeRout, 4), 0x0b0b0a0au);
  EXPECT_EQ(cf8_read(kLpc, ich9::kRcba, 4), 0xfed1c001u);
  lpc->set_pm_mapper(nullptr);
}

TEST(PciPirqMap, MatchesQemusDefaultRouting) {
  // QEMU's ich9_cc_init / D31IR defaults.
  EXPECT_EQ(ich9_pirq_for(0, 0), 4);  // slot 0 INTA -> PIRQE
  EXPECT_EQ(ich9_pirq_for(1, 0), 5);
  EXPECT_EQ(ich9_pirq_for(2, 3), 5);  // (2 + 3) % 4 = 1 -> PIRQF
  EXPECT_EQ(ich9_pirq_for(24, 1), 5);
  EXPECT_EQ(ich9_pirq_for(25, 0), 0);  // D25IR default: INTA-D -> PIRQA-D
  EXPECT_EQ(ich9_pirq_for(29, 3), 3);
  EXPECT_EQ(ich9_pirq_for(30, 0), 4);  // DMI-to-PCI bridge: PIRQE-H
  EXPECT_EQ(ich9_pirq_for(30, 3), 7);
  EXPECT_EQ(ich9_pirq_for(31, 2), 2);
}

}  // namespace
}  // namespace machina::test
