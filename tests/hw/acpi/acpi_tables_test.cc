// The q35 ACPI tables: framing (lengths, checksums), the pointers from the RSDP down, the FADT's
// PM blocks and reset register, MADT entries per CPU, MCFG, the DSDT's content, and ACPICA's own
// disassembler and compiler (Debian's acpica-tools `iasl`) reading the DSDT and the data tables
// without errors.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "hw/acpi/acpi-tables-pc.h"

namespace machina {
namespace {

using B = AmlBytes;

constexpr uint64_t kBase = 0xe0000;

uint64_t le(const B& b, size_t off, int n) {
  return get_le(b.data() + off, n);
}

std::string sig_at(const B& b, size_t off, size_t n = 4) {
  return std::string(b.begin() + off, b.begin() + off + n);
}

bool sums_to_zero(const uint8_t* p, size_t n) {
  uint8_t s = 0;
  for (size_t i = 0; i < n; ++i) s = uint8_t(s + p[i]);
  return s == 0;
}

bool contains(const B& hay, const B& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

// A table of the blob by guest address: its bytes, checked for length and checksum.
B table_at(const AcpiTableBlob& blob, uint64_t addr) {
  EXPECT_GE(addr, blob.base);
  size_t off = addr - blob.base;
  EXPECT_LE(off + kAcpiTableHeaderSize, blob.bytes.size());
  size_t len = le(blob.bytes, off + 4, 4);
  EXPECT_LE(off + len, blob.bytes.size());
  B t(blob.bytes.begin() + off, blob.bytes.begin() + off + len);
  EXPECT_TRUE(sums_to_zero(t.data(), t.size())) << sig_at(t, 0);
  return t;
}

PcAcpiConfig cpus(int n) {
  PcAcpiConfig cfg;
  cfg.apic_ids.clear();
  for (int i = 0; i < n; ++i) cfg.apic_ids.push_back(i);
  return cfg;
}

TEST(PcAcpiTables, RsdpPointsToXsdtAndRsdt) {
  AcpiTableBlob blob = build_pc_acpi_tables(PcAcpiConfig{}, kBase);
  EXPECT_EQ(blob.rsdp_addr, kBase);
  const B& b = blob.bytes;
  ASSERT_GE(b.size(), kRsdpLength);
  EXPECT_EQ(sig_at(b, 0, 8), "RSD PTR ");
  EXPECT_TRUE(sums_to_zero(b.data(), 20));           // ACPI 1.0 checksum
  EXPECT_TRUE(sums_to_zero(b.data(), kRsdpLength));  // extended checksum
  EXPECT_EQ(sig_at(b, 9, 6), "MACHNA");
  EXPECT_EQ(b[15], 2);                   // revision
  EXPECT_EQ(le(b, 20, 4), kRsdpLength);  // length
  B xsdt = table_at(blob, le(b, 24, 8));
  EXPECT_EQ(sig_at(xsdt, 0), "XSDT");
  B rsdt = table_at(blob, le(b, 16, 4));
  EXPECT_EQ(sig_at(rsdt, 0), "RSDT");

  // Both list FADT, MADT and MCFG, in that order, and agree.
  ASSERT_EQ(xsdt.size(), kAcpiTableHeaderSize + 3 * 8);
  ASSERT_EQ(rsdt.size(), kAcpiTableHeaderSize + 3 * 4);
  const char* sigs[] = {"FACP", "APIC", "MCFG"};
  for (int i = 0; i < 3; ++i) {
    uint64_t a = le(xsdt, kAcpiTableHeaderSize + 8 * i, 8);
    EXPECT_EQ(a, le(rsdt, kAcpiTableHeaderSize + 4 * i, 4));
    EXPECT_EQ(sig_at(table_at(blob, a), 0), sigs[i]);
    EXPECT_EQ(a % 8, 0u);
    EXPECT_EQ(blob.table_addr.at(sigs[i]), a);
  }
}

TEST(PcAcpiTables, FadtPointsToFacsAndDsdt) {
  AcpiTableBlob blob = build_pc_acpi_tables(PcAcpiConfig{}, kBase);
  B f = table_at(blob, blob.table_addr.at("FACP"));
  EXPECT_EQ(f.size(), 276u);  // ACPI 6.0
  EXPECT_EQ(f[8], 6);         // revision
  uint64_t facs = le(f, fadt::kFirmwareCtrl, 4);
  EXPECT_EQ(facs % 64, 0u);  // the FACS must be 64-byte aligned
  size_t off = facs - kBase;
  EXPECT_EQ(sig_at(blob.bytes, off), "FACS");
  EXPECT_EQ(le(blob.bytes, off + 4, 4), 64u);
  EXPECT_EQ(blob.bytes[off + 32], 2);  // version
  uint64_t dsdt = le(f, fadt::kDsdt, 4);
  EXPECT_EQ(le(f, fadt::kXDsdt, 8), dsdt);
  EXPECT_EQ(sig_at(table_at(blob, dsdt), 0), "DSDT");
}

TEST(PcAcpiTables, FadtPmBlocksResetRegisterAndFlags) {
  B f = build_pc_fadt(PcAcpiConfig{}, 0x1000, 0x2000);
  EXPECT_EQ(le(f, fadt::kSciInt, 2), 9u);
  EXPECT_EQ(le(f, fadt::kSmiCmd, 4), 0u);  // ACPI always enabled
  EXPECT_EQ(f[fadt::kAcpiEnable], 0);
  EXPECT_EQ(f[fadt::kAcpiDisable], 0);
  EXPECT_EQ(le(f, fadt::kPm1aEvtBlk, 4), 0x600u);
  EXPECT_EQ(le(f, fadt::kPm1aCntBlk, 4), 0x604u);
  EXPECT_EQ(le(f, fadt::kPmTmrBlk, 4), 0x608u);
  EXPECT_EQ(le(f, fadt::kGpe0Blk, 4), 0x620u);
  EXPECT_EQ(f[fadt::kPm1EvtLen], 4);
  EXPECT_EQ(f[fadt::kPm1CntLen], 2);
  EXPECT_EQ(f[fadt::kPmTmrLen], 4);
  EXPECT_EQ(f[fadt::kGpe0BlkLen], 16);
  EXPECT_EQ(le(f, fadt::kPLvl2Lat, 2), 0xfffu);
  EXPECT_EQ(le(f, fadt::kPLvl3Lat, 2), 0xfffu);
  EXPECT_EQ(le(f, fadt::kIapcBootArch, 2), 3u);  // legacy devices, 8042

  uint32_t flags = uint32_t(le(f, fadt::kFlags, 4));
  EXPECT_TRUE(flags & fadt::kFlagWbinvd);
  EXPECT_TRUE(flags & fadt::kFlagProcC1);
  EXPECT_TRUE(flags & fadt::kFlagSlpButton);
  EXPECT_TRUE(flags & fadt::kFlagResetRegSup);
  EXPECT_FALSE(flags & fadt::kFlagPwrButton);  // fixed-feature power button
  EXPECT_FALSE(flags & fadt::kFlagTmrValExt);  // 24-bit PM timer

  // Reset register: System I/O, 8 bits at port 0xCF9, value 6.
  EXPECT_EQ(f[fadt::kResetReg], 1);
  EXPECT_EQ(f[fadt::kResetReg + 1], 8);
  EXPECT_EQ(f[fadt::kResetReg + 2], 0);
  EXPECT_EQ(le(f, fadt::kResetReg + 4, 8), 0xcf9u);
  EXPECT_EQ(f[fadt::kResetValue], 6);

  // The extended blocks agree with the 32-bit ones: System I/O, bit width = 8 x length.
  struct {
    size_t x, legacy;
    int bits;
  } blocks[] = {{fadt::kXPm1aEvtBlk, fadt::kPm1aEvtBlk, 32},
                {fadt::kXPm1aCntBlk, fadt::kPm1aCntBlk, 16},
                {fadt::kXPmTmrBlk, fadt::kPmTmrBlk, 32},
                {fadt::kXGpe0Blk, fadt::kGpe0Blk, 128}};
  for (const auto& blk : blocks) {
    EXPECT_EQ(f[blk.x], 1) << blk.x;
    EXPECT_EQ(f[blk.x + 1], blk.bits) << blk.x;
    EXPECT_EQ(le(f, blk.x + 4, 8), le(f, blk.legacy, 4)) << blk.x;
  }
  EXPECT_EQ(le(f, fadt::kXDsdt, 8), 0x2000u);
  EXPECT_EQ(le(f, fadt::kFirmwareCtrl, 4), 0x1000u);
}

struct MadtEntry {
  uint8_t type;
  B bytes;
};

std::vector<MadtEntry> madt_entries(const B& m) {
  std::vector<MadtEntry> out;
  size_t off = kAcpiTableHeaderSize + 8;
  while (off < m.size()) {
    uint8_t len = m[off + 1];
    EXPECT_GE(len, 2);
    if (len < 2) break;
    out.push_back({m[off], B(m.begin() + off, m.begin() + off + len)});
    off += len;
  }
  EXPECT_EQ(off, m.size());
  return out;
}

TEST(PcAcpiTables, MadtHasOneLocalApicPerCpuTheIoApicOverridesAndNmi) {
  B m = build_pc_madt(cpus(4));
  EXPECT_TRUE(sums_to_zero(m.data(), m.size()));
  EXPECT_EQ(sig_at(m, 0), "APIC");
  EXPECT_EQ(le(m, 36, 4), 0xfee00000u);
  EXPECT_EQ(le(m, 40, 4), madt::kFlagPcatCompat);
  auto e = madt_entries(m);
  ASSERT_EQ(e.size(), 4u + 1 + 2 + 1);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(e[i].type, madt::kLocalApic);
    ASSERT_EQ(e[i].bytes.size(), 8u);
    EXPECT_EQ(e[i].bytes[2], i);          // ACPI processor UID
    EXPECT_EQ(e[i].bytes[3], i);          // APIC id
    EXPECT_EQ(le(e[i].bytes, 4, 4), 1u);  // enabled
  }
  const B& io = e[4].bytes;
  EXPECT_EQ(e[4].type, madt::kIoApic);
  ASSERT_EQ(io.size(), 12u);
  EXPECT_EQ(io[2], 4);  // the first id after the CPUs'
  EXPECT_EQ(le(io, 4, 4), 0xfec00000u);
  EXPECT_EQ(le(io, 8, 4), 0u);

  // IRQ 0 -> GSI 2 (conforming); IRQ 9 -> GSI 9, level, active high.
  EXPECT_EQ(e[5].bytes, (B{2, 10, 0, 0, 2, 0, 0, 0, 0x00, 0x00}));
  EXPECT_EQ(e[6].bytes, (B{2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0x00}));
  // Local APIC NMI: all processors, LINT1.
  EXPECT_EQ(e[7].bytes, (B{4, 6, 0xff, 0, 0, 1}));
}

TEST(PcAcpiTables, MadtUsesX2ApicEntriesForLargeApicIds) {
  PcAcpiConfig cfg;
  cfg.apic_ids = {0, 300};
  cfg.ioapic_id = 0;
  auto e = madt_entries(build_pc_madt(cfg));
  ASSERT_GE(e.size(), 2u);
  EXPECT_EQ(e[0].type, madt::kLocalApic);
  EXPECT_EQ(e[1].type, madt::kLocalX2Apic);
  ASSERT_EQ(e[1].bytes.size(), 16u);
  EXPECT_EQ(le(e[1].bytes, 4, 4), 300u);  // x2APIC id
  EXPECT_EQ(le(e[1].bytes, 8, 4), 1u);    // enabled
  EXPECT_EQ(le(e[1].bytes, 12, 4), 1u);   // UID
  EXPECT_EQ(e[2].bytes[2], 0);            // the I/O APIC id as configured
  EXPECT_EQ(e.back().type, madt::kLocalX2ApicNmi);
}

TEST(PcAcpiTables, McfgDescribesEcamForBuses0To255) {
  B m = build_pc_mcfg(PcAcpiConfig{});
  EXPECT_TRUE(sums_to_zero(m.data(), m.size()));
  EXPECT_EQ(sig_at(m, 0), "MCFG");
  ASSERT_EQ(m.size(), 36u + 8 + 16);
  EXPECT_EQ(le(m, 44, 8), 0xb0000000u);
  EXPECT_EQ(le(m, 52, 2), 0u);  // segment
  EXPECT_EQ(m[54], 0);          // start bus
  EXPECT_EQ(m[55], 255);        // end bus
}

TEST(PcAcpiTables, DsdtDescribesPciRootWindowsAndSoftOff) {
  using namespace aml;
  PcAcpiConfig cfg = cpus(2);
  cfg.below_4g_mem_size = 0x80000000;
  cfg.above_4g_mem_size = 0x40000000;
  B d = build_pc_dsdt(cfg);
  EXPECT_TRUE(sums_to_zero(d.data(), d.size()));
  EXPECT_EQ(sig_at(d, 0), "DSDT");
  EXPECT_EQ(le(d, 4, 4), d.size());

  EXPECT_TRUE(contains(d, name_decl("_HID", eisa_id("PNP0A08")).encode()));
  EXPECT_TRUE(contains(d, name_decl("_CID", eisa_id("PNP0A03")).encode()));
  // \_S5: Package (4) { Zero, Zero, Zero, Zero }
  EXPECT_TRUE(contains(d, B{0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0}));
  // PCI0's windows: buses 0-255, I/O around the config ports, the 32-bit hole from the end of
  // low RAM to the ECAM and from the ECAM to the I/O APIC, and 32 GiB from 5 GiB (above the
  // 1 GiB of RAM above 4 GiB).
  EXPECT_TRUE(contains(d, res_word_bus_number(ResUsage::Producer, 0, 0xff).encode()));
  EXPECT_TRUE(contains(d, res_word_io(ResUsage::Producer, 0, 0xcf7).encode()));
  EXPECT_TRUE(contains(d, res_word_io(ResUsage::Producer, 0xd00, 0xffff).encode()));
  EXPECT_TRUE(contains(
      d, res_dword_memory(ResUsage::Producer, MemCache::NonCacheable, true, 0x80000000, 0xafffffff)
             .encode()));
  EXPECT_TRUE(contains(
      d, res_dword_memory(ResUsage::Producer, MemCache::NonCacheable, true, 0xc0000000, 0xfebfffff)
             .encode()));
  EXPECT_TRUE(contains(d, res_qword_memory(ResUsage::Producer, MemCache::NonCacheable, true,
                                           5ull << 30, (37ull << 30) - 1)
                              .encode()));
  // The SCI's and COM1's resources; one processor device per CPU.
  EXPECT_TRUE(contains(d, name_decl("_HID", eisa_id("PNP0501")).encode()));
  EXPECT_TRUE(contains(d, res_io(IoDecode::Decode16, 0x3f8, 0x3f8, 1, 8).encode()));
  EXPECT_TRUE(contains(d, B{'C', '0', '0', '1'}));
  EXPECT_FALSE(contains(d, B{'C', '0', '0', '2'}));
  // APIC-mode links: PIRQ E-H on GSI 20-23 are the first slots' INTA.
  EXPECT_TRUE(contains(d, res_interrupt(ResUsage::Consumer, Trigger::Level, Polarity::ActiveHigh,
                                        Sharing::Shared, {20})
                              .encode()));
}

TEST(PcAcpiTables, SmallLowRamGetsOneLowWindowUpToEcam) {
  using namespace aml;
  PcAcpiConfig cfg;
  cfg.below_4g_mem_size = 128ull << 20;
  cfg.pci_hole64_size = 0;
  B d = build_pc_dsdt(cfg);
  EXPECT_TRUE(contains(
      d, res_dword_memory(ResUsage::Producer, MemCache::NonCacheable, true, 0x08000000, 0xafffffff)
             .encode()));
  B q = res_qword_memory(ResUsage::Producer, MemCache::NonCacheable, true, 1ull << 32,
                         (5ull << 32) - 1)
            .encode();
  EXPECT_FALSE(contains(d, B(q.begin(), q.begin() + 3)));  // no QWord descriptor
}

// Runs "etc/table-loader" as firmware does (QEMU's BIOSLinkerLoader commands), with the tables
// file at kTablesAt and the RSDP file at kRsdpAt, then follows the pointers.
TEST(PcAcpiTables, FwCfgFilesLinkIntoValidTables) {
  constexpr uint64_t kTablesAt = 0x7fe0000, kRsdpAt = 0xf5a40;
  AcpiFwCfgFiles f = build_pc_acpi_fw_cfg_files(cpus(2));
  ASSERT_EQ(f.loader.size() % table_loader::kEntrySize, 0u);
  ASSERT_EQ(f.rsdp.size(), kRsdpLength);
  B tables = f.tables, rsdp = f.rsdp;
  auto file = [&](const B& e, size_t off) -> std::pair<B*, uint64_t> {
    std::string n(reinterpret_cast<const char*>(&e[off]));
    if (n == table_loader::kTablesFile) return {&tables, kTablesAt};
    if (n == table_loader::kRsdpFile) return {&rsdp, kRsdpAt};
    ADD_FAILURE() << "unknown file " << n;
    return {nullptr, 0};
  };
  int allocs = 0;
  for (size_t off = 0; off < f.loader.size(); off += table_loader::kEntrySize) {
    B e(f.loader.begin() + off, f.loader.begin() + off + table_loader::kEntrySize);
    switch (le(e, 0, 4)) {
      case table_loader::kAllocate: {
        auto [data, addr] = file(e, 4);
        ASSERT_NE(data, nullptr);
        EXPECT_EQ(addr % le(e, 60, 4), 0u);
        EXPECT_EQ(e[64], data == &rsdp ? table_loader::kZoneFSeg : table_loader::kZoneHigh);
        ++allocs;
        break;
      }
      case table_loader::kAddPointer: {
        auto [dest, daddr] = file(e, 4);
        auto [src, saddr] = file(e, 60);
        ASSERT_TRUE(dest && src);
        size_t at = le(e, 116, 4);
        int size = e[120];
        ASSERT_LE(at + size, dest->size());
        put_le(*dest, at, le(*dest, at, size) + saddr, size);
        break;
      }
      case table_loader::kAddChecksum: {
        auto [data, addr] = file(e, 4);
        ASSERT_NE(data, nullptr);
        size_t result = le(e, 60, 4), start = le(e, 64, 4), len = le(e, 68, 4);
        ASSERT_LE(start + len, data->size());
        (*data)[result] = acpi_checksum(data->data() + start, len);
        break;
      }
      default:
        FAIL() << "unknown loader command " << le(e, 0, 4);
    }
  }
  EXPECT_EQ(allocs, 2);
  // The linked result: valid checksums, and every pointer lands on the right table.
  EXPECT_TRUE(sums_to_zero(rsdp.data(), 20));
  EXPECT_TRUE(sums_to_zero(rsdp.data(), kRsdpLength));
  AcpiTableBlob linked{tables, kTablesAt, 0, {}};
  B xsdt = table_at(linked, le(rsdp, 24, 8));
  EXPECT_EQ(sig_at(xsdt, 0), "XSDT");
  EXPECT_EQ(sig_at(table_at(linked, le(rsdp, 16, 4)), 0), "RSDT");
  B fadt = table_at(linked, le(xsdt, 36, 8));
  EXPECT_EQ(sig_at(fadt, 0), "FACP");
  EXPECT_EQ(sig_at(table_at(linked, le(fadt, fadt::kXDsdt, 8)), 0), "DSDT");
  EXPECT_EQ(le(fadt, fadt::kDsdt, 4), le(fadt, fadt::kXDsdt, 8));
  EXPECT_EQ(sig_at(tables, le(fadt, fadt::kFirmwareCtrl, 4) - kTablesAt), "FACS");
  EXPECT_EQ(sig_at(table_at(linked, le(xsdt, 44, 8)), 0), "APIC");
  EXPECT_EQ(sig_at(table_at(linked, le(xsdt, 52, 8)), 0), "MCFG");
}

// --- ACPICA's view: `iasl -d` (disassemble) and `iasl` (recompile) report no errors.

struct CmdResult {
  int status = -1;
  std::string output;
};

CmdResult run(const std::string& cmd) {
  CmdResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  r.status = pclose(p);
  return r;
}

class IaslTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(run("command -v iasl").status, 0)
        << "iasl not found: install Debian's acpica-tools (scripts/install-deps.sh)";
    char tmpl[] = "/tmp/machina-acpi-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) (void)run("rm -rf '" + dir_ + "'");
  }
  std::string write(const std::string& name, const B& bytes) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    return path;
  }
  std::string dir_;
};

TEST_F(IaslTest, DsdtDisassemblesAndRecompilesWithoutErrors) {
  PcAcpiConfig cfg = cpus(2);
  cfg.serial_ports = {{0x3f8, 4}, {0x2f8, 3}};
  write("dsdt.aml", build_pc_dsdt(cfg));
  CmdResult dis = run("cd '" + dir_ + "' && iasl -d dsdt.aml");
  ASSERT_EQ(dis.status, 0) << dis.output;
  EXPECT_EQ(dis.output.find("Error"), std::string::npos) << dis.output;

  std::ifstream in(dir_ + "/dsdt.dsl");
  std::string dsl((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* want :
       {"Device (PCI0)", "EisaId (\"PNP0A08\")", "Method (_PRT, 0, NotSerialized)",
        "Name (_S5, Package (0x04)", "Device (COM2)", "Device (LNKA)", "Device (GSIH)",
        "Method (_OSC, 4, NotSerialized)", "Device (RTC)", "EisaId (\"PNP0C02\")",
        "Memory32Fixed (ReadWrite,", "0xB0000000,"}) {
    EXPECT_NE(dsl.find(want), std::string::npos) << want;
  }

  CmdResult comp = run("cd '" + dir_ + "' && iasl -p recompiled dsdt.dsl");
  ASSERT_EQ(comp.status, 0) << comp.output;
  EXPECT_NE(comp.output.find(" 0 Errors"), std::string::npos) << comp.output;
  EXPECT_NE(comp.output.find(" 0 Warnings"), std::string::npos) << comp.output;
}

TEST_F(IaslTest, DataTablesDisassembleWithoutErrors) {
  AcpiTableBlob blob = build_pc_acpi_tables(cpus(3), kBase);
  for (const char* sig : {"FACP", "APIC", "MCFG", "XSDT", "RSDT"}) {
    uint64_t off = blob.table_addr.at(sig) - kBase;
    size_t len = le(blob.bytes, off + 4, 4);
    std::string file = std::string(sig) + ".dat";
    write(file, B(blob.bytes.begin() + off, blob.bytes.begin() + off + len));
    CmdResult dis = run("cd '" + dir_ + "' && iasl -d " + file);
    ASSERT_EQ(dis.status, 0) << sig << ": " << dis.output;
    std::ifstream in(dir_ + "/" + sig + ".dsl");
    std::string dsl((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(dsl.find("**** "), std::string::npos) << sig << ":\n" << dsl;  // iasl's complaints
    EXPECT_EQ(dsl.find("Invalid"), std::string::npos) << sig << ":\n" << dsl;
    EXPECT_EQ(dsl.find("Incorrect"), std::string::npos) << sig << ":\n" << dsl;
  }
}

}  // namespace
}  // namespace machina
