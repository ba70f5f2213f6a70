// The AML builder against encodings worked out by hand from the ACPI specification (chapter 20,
// "ACPI Machine Language Specification", and 6.4 "Resource Data Types"), and the table framing.
#include <gtest/gtest.h>

#include "hw/acpi/aml-build.h"

namespace machina {
namespace {

using namespace aml;
using B = AmlBytes;

B s(std::string_view text) {
  return B(text.begin(), text.end());
}
B cat(std::initializer_list<B> parts) {
  B out;
  for (const B& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(AmlBuild, PkgLengthOneToFourBytes) {
  // One byte: bits 5:0 hold the length, which counts the PkgLength byte itself.
  EXPECT_EQ(pkg_length(0), (B{0x01}));
  EXPECT_EQ(pkg_length(62), (B{0x3f}));
  // Two bytes: lead byte 0x4N (N = low nibble), then bits 11:4.
  EXPECT_EQ(pkg_length(63), (B{0x41, 0x04}));    // 63 + 2 = 0x041
  EXPECT_EQ(pkg_length(4093), (B{0x4f, 0xff}));  // 0xfff
  // Three bytes: 4094 + 3 = 0x1001.
  EXPECT_EQ(pkg_length(4094), (B{0x81, 0x00, 0x01}));
  EXPECT_EQ(pkg_length(0xffffc), (B{0x8f, 0xff, 0xff}));  // 0xfffff
  // Four bytes: 0x100000 + 4 = 0x100004.
  EXPECT_EQ(pkg_length(0x100000), (B{0xc4, 0x00, 0x00, 0x01}));
  // Field element widths are encoded as they are.
  EXPECT_EQ(pkg_length_value(8), (B{0x08}));
  EXPECT_EQ(pkg_length_value(64), (B{0x40, 0x04}));
}

TEST(AmlBuild, Integers) {
  EXPECT_EQ(integer(0).encode(), (B{0x00}));
  EXPECT_EQ(integer(1).encode(), (B{0x01}));
  EXPECT_EQ(integer(2).encode(), (B{0x0a, 0x02}));
  EXPECT_EQ(integer(0xff).encode(), (B{0x0a, 0xff}));
  EXPECT_EQ(integer(0x100).encode(), (B{0x0b, 0x00, 0x01}));
  EXPECT_EQ(integer(0x12345678).encode(), (B{0x0c, 0x78, 0x56, 0x34, 0x12}));
  EXPECT_EQ(integer(0x100000000).encode(), (B{0x0e, 0, 0, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(ones().encode(), (B{0xff}));
  EXPECT_EQ(zero().encode(), (B{0x00}));
  EXPECT_EQ(one().encode(), (B{0x01}));
}

TEST(AmlBuild, NameStrings) {
  EXPECT_EQ(name_string("_SB"), s("_SB_"));
  EXPECT_EQ(name_string("PCI0"), s("PCI0"));
  EXPECT_EQ(name_string("\\_SB.PCI0"), cat({{0x5c, 0x2e}, s("_SB_PCI0")}));
  EXPECT_EQ(name_string("^FOO"), cat({{0x5e}, s("FOO_")}));
  EXPECT_EQ(name_string("^^A.B"), cat({{0x5e, 0x5e, 0x2e}, s("A___B___")}));
  EXPECT_EQ(name_string("\\_SB.PCI0.SF8.PRQA"), cat({{0x5c, 0x2f, 0x04}, s("_SB_PCI0SF8_PRQA")}));
  EXPECT_EQ(name_string("\\"), (B{0x5c, 0x00}));
  EXPECT_EQ(name_string(""), (B{0x00}));
}

TEST(AmlBuild, StringsEisaIdAndNames) {
  EXPECT_EQ(string("ACPI0007").encode(), cat({{0x0d}, s("ACPI0007"), {0x00}}));
  // "PNP0A03": P=16, N=14, P=16 in 5 bits each after a zero bit: 0x41D0, then 0x0A03, stored
  // most significant byte first.
  EXPECT_EQ(eisa_id("PNP0A03").encode(), (B{0x0c, 0x41, 0xd0, 0x0a, 0x03}));
  EXPECT_EQ(eisa_id("PNP0501").encode(), (B{0x0c, 0x41, 0xd0, 0x05, 0x01}));
  EXPECT_EQ(name_decl("_HID", eisa_id("PNP0A08")).encode(),
            cat({{0x08}, s("_HID"), {0x0c, 0x41, 0xd0, 0x0a, 0x08}}));
  EXPECT_EQ(local(0).encode(), (B{0x60}));
  EXPECT_EQ(local(7).encode(), (B{0x67}));
  EXPECT_EQ(arg(0).encode(), (B{0x68}));
  EXPECT_EQ(arg(6).encode(), (B{0x6e}));
  EXPECT_EQ(debug().encode(), (B{0x5b, 0x31}));
}

TEST(AmlBuild, SmallMethod) {
  // Method (_PIC, 1, NotSerialized) { Store (Arg0, PICF) }
  Aml m = method("_PIC", 1);
  m.add(store(arg(0), name("PICF")));
  EXPECT_EQ(m.encode(), cat({{0x14, 0x0c}, s("_PIC"), {0x01, 0x70, 0x68}, s("PICF")}));
  // Serialized, 2 arguments, sync level 3: flags 0b0011_1010.
  Aml m2 = method("FOO", 2, true, 3);
  m2.add(return_(arg(1)));
  EXPECT_EQ(m2.encode(), cat({{0x14, 0x08}, s("FOO_"), {0x3a, 0xa4, 0x69}}));
}

TEST(AmlBuild, PackagesBuffersAndResourceTemplates) {
  Aml p = package();
  p.add(one());
  p.add(integer(0x10));
  EXPECT_EQ(p.encode(), (B{0x12, 0x05, 0x02, 0x01, 0x0a, 0x10}));
  EXPECT_EQ(package().encode(), (B{0x12, 0x02, 0x00}));

  EXPECT_EQ(buffer({1, 2, 3}).encode(), (B{0x11, 0x06, 0x0a, 0x03, 0x01, 0x02, 0x03}));

  // ResourceTemplate () { IO (Decode16, 0x3F8, 0x3F8, 0x01, 0x08) IRQNoFlags () {4} }
  Aml rt = resource_template();
  rt.add(res_io(IoDecode::Decode16, 0x3f8, 0x3f8, 1, 8));
  rt.add(res_irq_noflags(1u << 4));
  EXPECT_EQ(rt.encode(), (B{0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
                            0x22, 0x10, 0x00, 0x79, 0x00}));
}

TEST(AmlBuild, ScopesDevicesControlFlowAndFields) {
  // Scope (\_SB) { Device (PCI0) { Name (_ADR, Zero) } }
  Aml sc = scope("\\_SB");
  Aml dev = device("PCI0");
  dev.add(name_decl("_ADR", zero()));
  sc.add(std::move(dev));
  EXPECT_EQ(sc.encode(), cat({{0x10, 0x13, 0x5c},
                              s("_SB_"),
                              {0x5b, 0x82, 0x0b},
                              s("PCI0"),
                              {0x08},
                              s("_ADR"),
                              {0x00}}));

  // If (LEqual (Arg0, One)) { Return (Zero) } Else { Return (One) }
  Aml i = if_(lequal(arg(0), one()));
  i.add(return_(zero()));
  Aml e = else_();
  e.add(return_(one()));
  EXPECT_EQ(i.encode(), (B{0xa0, 0x06, 0x93, 0x68, 0x01, 0xa4, 0x00}));
  EXPECT_EQ(e.encode(), (B{0xa1, 0x03, 0xa4, 0x01}));

  // And (Arg0, 0x0F, Local0); Or (Local0, One) without target: NullName.
  EXPECT_EQ(and_(arg(0), integer(0x0f), local(0)).encode(), (B{0x7b, 0x68, 0x0a, 0x0f, 0x60}));
  EXPECT_EQ(or_(local(0), one()).encode(), (B{0x7d, 0x60, 0x01, 0x00}));
  EXPECT_EQ(notify(name("PWRB"), integer(0x80)).encode(), cat({{0x86}, s("PWRB"), {0x0a, 0x80}}));

  // OperationRegion (PIRQ, PCI_Config, 0x60, 0x0C)
  EXPECT_EQ(operation_region("PIRQ", RegionSpace::PciConfig, integer(0x60), integer(0x0c)).encode(),
            cat({{0x5b, 0x80}, s("PIRQ"), {0x02, 0x0a, 0x60, 0x0a, 0x0c}}));
  // Field (PIRQ, ByteAcc, NoLock, Preserve) { PRQA, 8, Offset (0x08), PRQE, 8 }
  Aml f = field("PIRQ", FieldAccess::Byte, FieldLock::NoLock, FieldUpdate::Preserve);
  f.add(named_field("PRQA", 8));
  f.add(reserved_field(56));
  f.add(named_field("PRQE", 8));
  EXPECT_EQ(f.encode(), cat({{0x5b, 0x81, 0x12},
                             s("PIRQ"),
                             {0x01},
                             s("PRQA"),
                             {0x08, 0x00, 0x38},
                             s("PRQE"),
                             {0x08}}));
  // CreateDWordField (Arg3, 0x04, CDW2)
  EXPECT_EQ(create_dword_field(arg(3), integer(4), "CDW2").encode(),
            cat({{0x8a, 0x6b, 0x0a, 0x04}, s("CDW2")}));
}

TEST(AmlBuild, LongBlocksUseLongerPkgLengths) {
  Aml pkg = package();
  for (int i = 0; i < 40; ++i) pkg.add(integer(0x1234));  // 40 x 3 bytes + count = 121
  B b = pkg.encode();
  ASSERT_EQ(b.size(), 1 + 2 + 121u);
  EXPECT_EQ(b[0], 0x12);
  EXPECT_EQ(b[1], 0x40 | ((121 + 2) & 0xf));
  EXPECT_EQ(b[2], (121 + 2) >> 4);
  EXPECT_EQ(b[3], 40);
}

TEST(AmlBuild, AddressSpaceAndInterruptDescriptors) {
  // WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0xFF, 0, 0x100)
  EXPECT_EQ(res_word_bus_number(ResUsage::Producer, 0, 0xff).encode(),
            (B{0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0, 0, 0xff, 0, 0, 0, 0x00, 0x01}));
  // WordIO (..., EntireRange, 0, 0xD00, 0xFFFF, 0, 0xF300)
  EXPECT_EQ(
      res_word_io(ResUsage::Producer, 0xd00, 0xffff).encode(),
      (B{0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0x00, 0x0d, 0xff, 0xff, 0, 0, 0x00, 0xf3}));
  // DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite, 0,
  // 0xA0000, 0xBFFFF, 0, 0x20000)
  EXPECT_EQ(
      res_dword_memory(ResUsage::Producer, MemCache::Cacheable, true, 0xa0000, 0xbffff).encode(),
      (B{0x87, 0x17, 0x00, 0x00, 0x0c, 0x03, 0, 0, 0, 0,    0x00, 0x00, 0x0a,
         0x00, 0xff, 0xff, 0x0b, 0x00, 0,    0, 0, 0, 0x00, 0x00, 0x02, 0x00}));
  B q = res_qword_memory(ResUsage::Producer, MemCache::NonCacheable, true, 1ull << 32,
                         (9ull << 32) - 1)
            .encode();
  ASSERT_EQ(q.size(), 46u);
  EXPECT_EQ(q[0], 0x8a);
  EXPECT_EQ(q[1], 0x2b);
  EXPECT_EQ(q[5], 0x01);                     // read-write, non-cacheable
  EXPECT_EQ(get_le(&q[14], 8), 1ull << 32);  // min
  EXPECT_EQ(get_le(&q[38], 8), 8ull << 32);  // length
  // Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) { 5, 10 }
  EXPECT_EQ(res_interrupt(ResUsage::Consumer, Trigger::Level, Polarity::ActiveHigh, Sharing::Shared,
                          {5, 10})
                .encode(),
            (B{0x89, 0x0a, 0x00, 0x09, 0x02, 5, 0, 0, 0, 10, 0, 0, 0}));
  EXPECT_EQ(res_memory32_fixed(true, 0xb0000000, 0x10000000).encode(),
            (B{0x86, 0x09, 0x00, 0x01, 0, 0, 0, 0xb0, 0, 0, 0, 0x10}));
}

TEST(AmlBuild, UuidByteOrder) {
  B b = uuid("33DB4D5B-1FF7-401C-9657-7441C03DD766").encode();
  EXPECT_EQ(b, (B{0x11, 0x13, 0x0a, 0x10, 0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f,
                  0x1c, 0x40, 0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66}));
}

TEST(AcpiTable, HeaderLengthAndChecksum) {
  B t = acpi_table("TEST", 3, {1, 2, 3, 4});
  ASSERT_EQ(t.size(), kAcpiTableHeaderSize + 4);
  EXPECT_EQ(B(t.begin(), t.begin() + 4), s("TEST"));
  EXPECT_EQ(get_le(&t[4], 4), 40u);
  EXPECT_EQ(t[8], 3);
  EXPECT_EQ(B(t.begin() + 10, t.begin() + 16), s("MACHNA"));
  EXPECT_EQ(B(t.begin() + 16, t.begin() + 24), s("MACHINA "));
  EXPECT_EQ(B(t.begin() + 28, t.begin() + 32), s("MCHN"));
  uint8_t sum = 0;
  for (uint8_t c : t) sum = uint8_t(sum + c);
  EXPECT_EQ(sum, 0);
  t[36] = 9;
  acpi_table_fix_checksum(t);
  sum = 0;
  for (uint8_t c : t) sum = uint8_t(sum + c);
  EXPECT_EQ(sum, 0);
}

TEST(AcpiTable, GenericAddressStructure) {
  B g;
  append_gas(g, GasSpace::SystemIO, 8, 0, GasAccess::Byte, 0xcf9);
  EXPECT_EQ(g, (B{0x01, 0x08, 0x00, 0x01, 0xf9, 0x0c, 0, 0, 0, 0, 0, 0}));
}

}  // namespace
}  // namespace machina
