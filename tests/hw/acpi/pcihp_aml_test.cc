// The DSDT's ACPI PCI hot-plug part (pcihp-aml.h): the register block's region and fields, one
// device per served root port with its slot, the notify methods, \_GPE._E01, and _OSC keeping
// native hot-plug from the OS; checked by bytes and through ACPICA's disassembler and compiler.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "hw/acpi/acpi-tables-pc.h"

namespace machina {
namespace {

using B = AmlBytes;
using namespace aml;

bool contains(const B& hay, const B& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

B seg(const char* s) {
  return B(s, s + 4);
}

PcAcpiConfig hotplug_config() {
  PcAcpiConfig cfg;
  cfg.pci_hotplug = true;
  cfg.pci_hotplug_io_base = 0x0cc4;
  cfg.pci_hotplug_ports = {{0, 2 << 3}, {1, 3 << 3}};
  return cfg;
}

TEST(PciHotplugAml, RegionFieldsPortsAndGpeMethod) {
  B d = build_pc_dsdt(hotplug_config());
  EXPECT_TRUE(contains(
      d, operation_region("PCST", RegionSpace::SystemIO, integer(0x0cc4), integer(0x20)).encode()));
  // Field (PCST, DWordAcc, NoLock, WriteAsZeros) { PCIU, 32, PCID, 32, B0EJ, 32, ... }
  B fields = {0x03 | 0x40};
  for (const char* n : {"PCIU", "PCID", "B0EJ", "PCRM", "BNUM", "PIDX", "OSLT", "OSTS"}) {
    B s = seg(n);
    fields.insert(fields.end(), s.begin(), s.end());
    fields.push_back(32);
  }
  EXPECT_TRUE(contains(d, fields));
  EXPECT_TRUE(contains(d, mutex("BLCK", 0).encode()));
  // The ports by devfn, their _ADR and bus selector.
  EXPECT_TRUE(contains(d, seg("S10_")));
  EXPECT_TRUE(contains(d, seg("S18_")));
  EXPECT_TRUE(contains(d, name_decl("_ADR", integer(0x00020000)).encode()));
  EXPECT_TRUE(contains(d, name_decl("_ADR", integer(0x00030000)).encode()));
  EXPECT_TRUE(contains(d, name_decl("BSEL", zero()).encode()));
  EXPECT_TRUE(contains(d, name_decl("BSEL", one()).encode()));
  // The slot: _SUN, _EJ0 -> PCEJ, _OST -> PCOS; the notifications.
  EXPECT_TRUE(contains(d, name_decl("_SUN", zero()).encode()));
  EXPECT_TRUE(contains(d, call("PCEJ", {name("BSEL"), name("_SUN")}).encode()));
  EXPECT_TRUE(contains(d, call("PCOS", {name("BSEL"), name("_SUN"), arg(0), arg(1)}).encode()));
  EXPECT_TRUE(contains(d, notify(name("S00"), arg(1)).encode()));
  EXPECT_TRUE(contains(d, call("DVNT", {name("PCIU"), one()}).encode()));
  EXPECT_TRUE(contains(d, call("DVNT", {name("PCID"), integer(3)}).encode()));
  EXPECT_TRUE(contains(d, call("\\_SB.PCI0.S10.PCNT").encode()));
  EXPECT_TRUE(contains(d, call("\\_SB.PCI0.S18.PCNT").encode()));
  EXPECT_TRUE(contains(d, seg("_E01")));
  EXPECT_TRUE(contains(d, call("\\_SB.PCI0.PCNT").encode()));
  // _OSC: CTRL &= 0x1E, native hot-plug (bit 0) refused.
  EXPECT_TRUE(contains(d, and_(name("CTRL"), integer(0x1e), name("CTRL")).encode()));
  EXPECT_FALSE(contains(d, and_(name("CTRL"), integer(0x1f), name("CTRL")).encode()));
}

TEST(PciHotplugAml, AbsentWhenOff) {
  PcAcpiConfig cfg;
  B d = build_pc_dsdt(cfg);
  EXPECT_FALSE(contains(d, seg("PCST")));
  EXPECT_FALSE(contains(d, seg("_E01")));
  EXPECT_FALSE(contains(d, seg("BSEL")));
  EXPECT_TRUE(contains(d, and_(name("CTRL"), integer(0x1f), name("CTRL")).encode()));
}

TEST(PciHotplugAml, NoPortsStillHasTheMachinery) {
  PcAcpiConfig cfg;
  cfg.pci_hotplug = true;
  B d = build_pc_dsdt(cfg);
  EXPECT_TRUE(contains(d, seg("_E01")));
  EXPECT_TRUE(contains(d, seg("PCNT")));
  EXPECT_FALSE(contains(d, seg("BSEL")));
}

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

TEST(PciHotplugAml, IaslDisassemblesAndRecompilesIt) {
  ASSERT_EQ(run("command -v iasl").status, 0)
      << "iasl not found: install Debian's acpica-tools (scripts/install-deps.sh)";
  char tmpl[] = "/tmp/machina-pcihp-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  B d = build_pc_dsdt(hotplug_config());
  std::ofstream(dir + "/dsdt.aml", std::ios::binary)
      .write(reinterpret_cast<const char*>(d.data()), std::streamsize(d.size()));
  CmdResult dis = run("cd '" + dir + "' && iasl -d dsdt.aml");
  ASSERT_EQ(dis.status, 0) << dis.output;
  std::ifstream in(dir + "/dsdt.dsl");
  std::string dsl((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* want :
       {"OperationRegion (PCST, SystemIO, 0x0CC4, 0x20)", "Mutex (BLCK, 0x00)", "Device (S10)",
        "Device (S18)", "Name (BSEL, One)", "Device (S00)", "Method (_EJ0, 1, NotSerialized)",
        "Method (_OST, 3, NotSerialized)", "Notify (S00, Arg1)", "Scope (\\_GPE)",
        "Method (_E01, 0, NotSerialized)", "Acquire (\\_SB.PCI0.BLCK, 0xFFFF)",
        "\\_SB.PCI0.PCNT ()", "\\_SB.PCI0.S18.PCNT ()"}) {
    EXPECT_NE(dsl.find(want), std::string::npos) << want << "\n" << dsl;
  }
  CmdResult comp = run("cd '" + dir + "' && iasl -p recompiled dsdt.dsl");
  EXPECT_EQ(comp.status, 0) << comp.output;
  EXPECT_NE(comp.output.find(" 0 Errors"), std::string::npos) << comp.output;
  EXPECT_NE(comp.output.find(" 0 Warnings"), std::string::npos) << comp.output;
  (void)run("rm -rf '" + dir + "'");
}

}  // namespace
}  // namespace machina
