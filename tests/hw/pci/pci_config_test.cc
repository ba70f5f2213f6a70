// Config space through the q35 host as a guest driver sees it: 0xCF8/0xCFC and ECAM, the MCH and
// LPC identities, read-only and write-1-to-clear bits, and what is not there.
#include "pci_fixture.h"

namespace machina::test {
namespace {

constexpr int kLpc = pci_devfn(31, 0);

TEST_F(PciTest, MchIdentityThroughCf8) {
  EXPECT_EQ(cf8_read(0, pci::kVendorId, 2), 0x8086u);
  EXPECT_EQ(cf8_read(0, pci::kDeviceId, 2), 0x29c0u);
  EXPECT_EQ(cf8_read(0, pci::kVendorId, 4), 0x29c08086u);
  EXPECT_EQ(cf8_read(0, pci::kClassDevice, 2), 0x0600u);  // host bridge
  EXPECT_EQ(cf8_read(0, pci::kRevisionId, 1), 0x00u);
  EXPECT_EQ(cf8_read(0, pci::kHeaderType, 1), 0x00u);  // type 0, single function
  EXPECT_EQ(cf8_read(0, pci::kSubsystemVendorId, 2), 0x1af4u);
  EXPECT_EQ(cf8_read(0, pci::kSubsystemId, 2), 0x1100u);
  EXPECT_EQ(cf8_read(0, mch::kPciexbar, 4), 0xb0000000u);  // default base, not enabled
  EXPECT_EQ(cf8_read(0, mch::kSmram, 1), 0x02u);
  EXPECT_EQ(cf8_read(0, mch::kEsmramc, 1), 0x38u);
}

TEST_F(PciTest, LpcIdentityThroughCf8) {
  EXPECT_EQ(cf8_read(kLpc, pci::kVendorId, 2), 0x8086u);
  EXPECT_EQ(cf8_read(kLpc, pci::kDeviceId, 2), 0x2918u);
  EXPECT_EQ(cf8_read(kLpc, pci::kClassDevice, 2), 0x0601u);  // ISA bridge
  EXPECT_EQ(cf8_read(kLpc, pci::kRevisionId, 1), 0x02u);
  EXPECT_EQ(cf8_read(kLpc, pci::kHeaderType, 1), 0x80u);  // multifunction
  EXPECT_EQ(cf8_read(kLpc, ich9::kPmBase, 4), 0x00000001u);
  EXPECT_EQ(cf8_read(kLpc, ich9::kAcpiCntl, 1), 0x00u);
  EXPECT_EQ(cf8_read(kLpc, ich9::kPirqaRout, 4), 0x80808080u);
  EXPECT_EQ(cf8_read(kLpc, ich9::kPirqeRout, 4), 0x80808080u);
  EXPECT_EQ(cf8_read(kLpc, ich9::kRcba, 4), 0u);
}

TEST_F(PciTest, ByteAndWordAccessesAtEachDataPort) {
  // 0xCFC-0xCFF reach register + (port & 3).
  EXPECT_EQ(cf8_read(kLpc, 0, 1), 0x86u);
  EXPECT_EQ(cf8_read(kLpc, 1, 1), 0x80u);
  EXPECT_EQ(cf8_read(kLpc, 2, 1), 0x18u);
  EXPECT_EQ(cf8_read(kLpc, 3, 1), 0x29u);
  EXPECT_EQ(cf8_read(kLpc, 2, 2), 0x2918u);
  EXPECT_EQ(cf8_read(kLpc, 0x0a, 2), 0x0601u);
}

TEST_F(PciTest, NonExistentFunctionsReadAllOnes) {
  EXPECT_EQ(cf8_read(pci_devfn(5, 0), pci::kVendorId, 2), 0xffffu);
  EXPECT_EQ(cf8_read(pci_devfn(5, 0), pci::kVendorId, 4), 0xffffffffu);
  EXPECT_EQ(cf8_read(pci_devfn(0, 1), pci::kVendorId, 2), 0xffffu);
  EXPECT_EQ(cf8_read(0, pci::kVendorId, 2, /*bus=*/1), 0xffffu);  // no such bus
  // A write goes nowhere and does not disturb anything.
  cf8_write(pci_devfn(5, 0), pci::kCommand, 0x7, 2);
  EXPECT_EQ(cf8_read(pci_devfn(5, 0), pci::kCommand, 2), 0xffffu);
}

TEST_F(PciTest, ConfigAddressEnableBitOffReadsAllOnes) {
  io_write(0xcf8, 4, 0x00000000);  // bus 0 dev 0 fn 0 reg 0, enable bit clear
  EXPECT_EQ(io_read(0xcf8, 4), 0x00000000u);
  EXPECT_EQ(io_read(0xcfc, 4), 0xffffffffu);
  EXPECT_EQ(io_read(0xcfc, 2), 0xffffu);
  // Writes are ignored too.
  io_write(0xcf8, 4, uint32_t(kLpc) << 8 | ich9::kPirqaRout);
  io_write(0xcfc, 1, 0x0b);
  EXPECT_EQ(cf8_read(kLpc, ich9::kPirqaRout, 1), 0x80u);
}

TEST_F(PciTest, ConfigAddressTakesOnlyDwordWrites) {
  io_write(0xcf8, 4, 0x80001234);
  EXPECT_EQ(io_read(0xcf8, 4), 0x80001234u);
  io_write(0xcf8, 1, 0x00);  // a byte at 0xCF8 is not CONFIG_ADDRESS
  io_write(0xcf8, 2, 0x0000);
  EXPECT_EQ(io_read(0xcf8, 4), 0x80001234u);
}

TEST_F(PciTest, ResetControlPortInsideConfigAddress) {
  // 0xCF9 is the LPC's RST_CNT even though CONFIG_ADDRESS is a dword at 0xCF8.
  io_write(0xcf8, 4, 0x80000000);
  io_write(0xcf9, 1, 0x0a);  // FULL_RST | SYS_RST, no RST_CPU: no reset, kept
  EXPECT_EQ(io_read(0xcf9, 1), 0x0au);
  EXPECT_EQ(lpc->reset_control(), 0x0a);
  EXPECT_EQ(io_read(0xcf8, 4), 0x80000000u);  // CONFIG_ADDRESS untouched
  EXPECT_EQ(cf8_read(0, pci::kVendorId, 2), 0x8086u);
  io_write(0xcf9, 1, 0xf1);  // only bits 3 and 1 are kept
  EXPECT_EQ(io_read(0xcf9, 1), 0x00u);
}

TEST_F(PciTest, EcamIsOffUntilPciexbarEnablesIt) {
  uint64_t v = 0;
  EXPECT_EQ(mem_read_result(kEcamBase, 4, &v), MemTxResult::DecodeError);
  EXPECT_EQ(v, 0xffffffffu);
  EXPECT_EQ(host->mmcfg_base(), kPcieBaseAddrUnmapped);
  enable_ecam();
  EXPECT_EQ(host->mmcfg_base(), kEcamBase);
  EXPECT_EQ(host->mmcfg_size(), 256u << 20);
  EXPECT_EQ(ecam_read(0, pci::kVendorId, 4), 0x29c08086u);
  EXPECT_EQ(ecam_read(kLpc, pci::kDeviceId, 2), 0x2918u);
  auto mcfg = host->property_get("MCFG");
  ASSERT_TRUE(mcfg.ok());
  EXPECT_EQ(mcfg.value().get<uint64_t>(), kEcamBase);

  // Moved to 0xe0000000 with 64 MiB: the old window is gone, the new one covers buses 0-63.
  cf8_write(0, mch::kPciexbar, 0xe0000000u | 0x4 | 1, 4);
  EXPECT_EQ(mem_read_result(kEcamBase, 4, &v), MemTxResult::DecodeError);
  EXPECT_EQ(mem_read(0xe0000000 + (uint64_t(kLpc) << 12), 2), 0x8086u);
  EXPECT_EQ(host->mmcfg_size(), 64u << 20);
  EXPECT_EQ(mem_read_result(0xe0000000 + (64ull << 20), 4, &v), MemTxResult::DecodeError);
  // Disabled again.
  cf8_write(0, mch::kPciexbar, 0xe0000000u, 4);
  EXPECT_EQ(mem_read_result(0xe0000000, 4, &v), MemTxResult::DecodeError);
  EXPECT_EQ(host->mmcfg_base(), kPcieBaseAddrUnmapped);
}

TEST_F(PciTest, EcamNonExistentReadsAllOnes) {
  enable_ecam();
  EXPECT_EQ(ecam_read(pci_devfn(7, 0), pci::kVendorId, 4), 0xffffffffu);
  EXPECT_EQ(ecam_read(pci_devfn(7, 0), pci::kVendorId, 2), 0xffffu);
  EXPECT_EQ(ecam_read(0, pci::kVendorId, 4, /*bus=*/3), 0xffffffffu);
}

TEST_F(PciTest, EcamAndCf8ShowTheSameRegisters) {
  enable_ecam();
  TestPciDevice* dev = add_test("3.0");
  ASSERT_NE(dev, nullptr);
  int d = pci_devfn(3, 0);
  // Written through ECAM, read through 0xCF8 ...
  ecam_write(d, 0x40, 0xdeadbeef, 4);
  ecam_write(d, pci::kInterruptLine, 0x0b, 1);
  EXPECT_EQ(cf8_read(d, 0x40, 4), 0xdeadbeefu);
  EXPECT_EQ(cf8_read(d, pci::kInterruptLine, 1), 0x0bu);
  // ... and the other way round, with mixed widths.
  cf8_write(d, 0x44, 0x1122, 2);
  cf8_write(d, 0x46, 0x33, 1);
  EXPECT_EQ(ecam_read(d, 0x44, 4), 0x00331122u);
  cf8_write(d, pci::kCommand, pci::kCommandMemory, 2);
  EXPECT_EQ(ecam_read(d, pci::kCommand, 2), pci::kCommandMemory);
  EXPECT_EQ(ecam_read(d, pci::kVendorId, 4), cf8_read(d, pci::kVendorId, 4));
  EXPECT_EQ(ecam_read(d, pci::kVendorId, 4), 0x11e81234u);
}

TEST_F(PciTest, ExtendedConfigSpaceOnlyForPcieFunctionsThroughEcam) {
  enable_ecam();
  ASSERT_NE(add_test("3.0"), nullptr);
  int d = pci_devfn(3, 0);
  // The PCIe test device's extended capability list at 0x100.
  EXPECT_EQ(ecam_read(d, 0x100, 4), uint32_t(kTestExtCapId) | 1u << 16);
  EXPECT_EQ(ecam_read(d, 0xffc, 4), 0u);
  // The LPC is conventional PCI: 256 bytes, the rest reads all-ones and ignores writes.
  EXPECT_EQ(ecam_read(kLpc, 0x100, 4), 0xffffffffu);
  ecam_write(kLpc, 0x100, 0x12345678, 4);
  EXPECT_EQ(ecam_read(kLpc, 0x100, 4), 0xffffffffu);
}

TEST_F(PciTest, ReadOnlyHeaderBitsStay) {
  ASSERT_NE(add_test("3.0"), nullptr);
  int d = pci_devfn(3, 0);
  cf8_write(d, pci::kVendorId, 0xffffffff, 4);
  EXPECT_EQ(cf8_read(d, pci::kVendorId, 4), 0x11e81234u);
  cf8_write(d, pci::kRevisionId, 0xffffffff, 4);
  EXPECT_EQ(cf8_read(d, pci::kRevisionId, 4), 0x02000010u);
  cf8_write(d, pci::kHeaderType, 0xff, 1);
  EXPECT_EQ(cf8_read(d, pci::kHeaderType, 1), 0x00u);
  cf8_write(d, pci::kSubsystemVendorId, 0xffffffff, 4);
  EXPECT_EQ(cf8_read(d, pci::kSubsystemVendorId, 4), 0x11001af4u);
  cf8_write(d, pci::kInterruptPin, 0x03, 1);
  EXPECT_EQ(cf8_read(d, pci::kInterruptPin, 1), 0x01u);
  cf8_write(d, pci::kCapabilityList, 0x00, 1);
  EXPECT_NE(cf8_read(d, pci::kCapabilityList, 1), 0x00u);
  // COMMAND: only I/O, memory, bus master, SERR# and INTx disable are implemented.
  cf8_write(d, pci::kCommand, 0xffff, 2);
  EXPECT_EQ(cf8_read(d, pci::kCommand, 2), 0x0507u);
  // The MCH's header too.
  cf8_write(0, pci::kClassDevice, 0xffff, 2);
  EXPECT_EQ(cf8_read(0, pci::kClassDevice, 2), 0x0600u);
  // Writable: cache line size and interrupt line.
  cf8_write(d, pci::kCacheLineSize, 0x10, 1);
  cf8_write(d, pci::kInterruptLine, 0x0a, 1);
  EXPECT_EQ(cf8_read(d, pci::kCacheLineSize, 1), 0x10u);
  EXPECT_EQ(cf8_read(d, pci::kInterruptLine, 1), 0x0au);
}

TEST_F(PciTest, StatusErrorBitsAreWriteOneToClear) {
  TestPciDevice* dev = add_test("3.0");
  ASSERT_NE(dev, nullptr);
  int d = pci_devfn(3, 0);
  uint16_t errors =
      pci::kStatusRecMasterAbort | pci::kStatusDetectedParity | pci::kStatusSigSystemError;
  // The device reports errors (as a model would on a failed DMA).
  dev->set_word(pci::kStatus, dev->get_word(pci::kStatus) | errors);
  uint16_t st = uint16_t(cf8_read(d, pci::kStatus, 2));
  EXPECT_EQ(st & errors, errors);
  EXPECT_TRUE(st & pci::kStatusCapList);
  // Writing 0 changes nothing; writing 1 clears exactly that bit.
  cf8_write(d, pci::kStatus, 0, 2);
  EXPECT_EQ(cf8_read(d, pci::kStatus, 2), st);
  cf8_write(d, pci::kStatus, pci::kStatusRecMasterAbort, 2);
  st = uint16_t(cf8_read(d, pci::kStatus, 2));
  EXPECT_FALSE(st & pci::kStatusRecMasterAbort);
  EXPECT_TRUE(st & pci::kStatusDetectedParity);
  // All-ones clears the error bits; CAP_LIST is read-only and stays.
  cf8_write(d, pci::kStatus, 0xffff, 2);
  st = uint16_t(cf8_read(d, pci::kStatus, 2));
  EXPECT_EQ(st & errors, 0);
  EXPECT_TRUE(st & pci::kStatusCapList);
  // A dword write at COMMAND reaches STATUS's upper half the same way.
  dev->set_word(pci::kStatus, dev->get_word(pci::kStatus) | pci::kStatusSigTargetAbort);
  cf8_write(d, pci::kCommand, uint32_t(pci::kStatusSigTargetAbort) << 16, 4);
  EXPECT_FALSE(cf8_read(d, pci::kStatus, 2) & pci::kStatusSigTargetAbort);
}

TEST_F(PciTest, CapabilityListIsWalkable) {
  ASSERT_NE(add_test("3.0"), nullptr);
  int d = pci_devfn(3, 0);
  EXPECT_TRUE(cf8_read(d, pci::kStatus, 2) & pci::kStatusCapList);
  // Walk as Linux's pci_find_capability does.
  std::vector<std::pair<uint8_t, uint8_t>> caps;
  uint8_t pos = uint8_t(cf8_read(d, pci::kCapabilityList, 1));
  for (int i = 0; pos && i < 48; ++i) {
    caps.push_back({uint8_t(cf8_read(d, pos, 1)), pos});
    pos = uint8_t(cf8_read(d, pos + 1, 1));
  }
  ASSERT_EQ(caps.size(), 2u);
  EXPECT_EQ(caps[0], std::make_pair(pci::kCapIdExp, kTestExpCap));
  EXPECT_EQ(caps[1], std::make_pair(pci::kCapIdMsi, kTestMsiCap));
  // PCIe capability: version 2, root complex integrated endpoint on pcie.0.
  EXPECT_EQ(cf8_read(d, kTestExpCap + pci::kExpFlags, 2), 0x0092u);
  EXPECT_EQ(cf8_read(d, kTestExpCap + pci::kExpDevCap, 4), pci::kExpDevCapRber);
  // The capability bytes are read-only, except the ones the device opens.
  cf8_write(d, kTestExpCap, 0xffffffff, 4);
  EXPECT_EQ(cf8_read(d, kTestExpCap, 1), pci::kCapIdExp);
  cf8_write(d, kTestExpCap + pci::kExpDevCtl, 0xffff, 2);
  EXPECT_EQ(cf8_read(d, kTestExpCap + pci::kExpDevCtl, 2), 0x000fu);  // error reporting enables
}

TEST_F(PciTest, AddCapabilityRefusesOverlaps) {
  TestPciDevice* dev = add_test("3.0");
  ASSERT_NE(dev, nullptr);
  auto r = dev->add_capability(pci::kCapIdVendor, kTestMsiCap + 4, 8);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            "0000:00:00:03.0 Attempt to add PCI capability 9 at offset 54 overlaps existing "
            "capability 50 at offset 54");
  // Offset 0 finds free space after the header and the existing capabilities' bytes.
  auto free = dev->add_capability(pci::kCapIdVendor, 0, 8);
  ASSERT_TRUE(free.ok()) << free.message();
  EXPECT_EQ(free.value(), 0x40);
  EXPECT_EQ(dev->find_capability(pci::kCapIdVendor), 0x40);
  EXPECT_EQ(cf8_read(pci_devfn(3, 0), pci::kCapabilityList, 1), 0x40u);
}

TEST_F(PciTest, MchSmramLock) {
  // Writable: D_OPEN D_CLS D_LCK G_SMRAME; C_BASE_SEG reads 010.
  cf8_write(0, mch::kSmram, 0x68, 1);
  EXPECT_EQ(cf8_read(0, mch::kSmram, 1), 0x6au);
  cf8_write(0, mch::kEsmramc, 0xff, 1);
  EXPECT_EQ(cf8_read(0, mch::kEsmramc, 1), 0xbfu);
  cf8_write(0, mch::kEsmramc, 0x00, 1);
  EXPECT_EQ(cf8_read(0, mch::kEsmramc, 1), 0x38u);
  // D_LCK: D_OPEN clears and stays clear, only D_CLS remains writable, ESMRAMC is frozen.
  cf8_write(0, mch::kSmram, 0xff, 1);
  EXPECT_EQ(cf8_read(0, mch::kSmram, 1), 0x3au);
  cf8_write(0, mch::kSmram, 0x40, 1);
  EXPECT_EQ(cf8_read(0, mch::kSmram, 1), 0x1au);
  cf8_write(0, mch::kEsmramc, 0x00, 1);
  EXPECT_EQ(cf8_read(0, mch::kEsmramc, 1), 0x38u);
  // PAM registers are storage.
  cf8_write(0, mch::kPam0, 0x30, 1);
  EXPECT_EQ(cf8_read(0, mch::kPam0, 1), 0x30u);
}

}  // namespace
}  // namespace machina::test
