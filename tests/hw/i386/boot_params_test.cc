// The zero page (boot_params) bytes at the offsets of Documentation/x86/zero-page.rst.
#include "hw/i386/x86-boot-params.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hw/i386/kernel_image_builder.h"

namespace machina {
namespace {

using test::Bytes;
using test::get_le;

SetupHeader fake_setup() {
  Bytes file = test::make_fake_bzimage(
      test::kernel_payload(KernelCompression::Gzip, test::make_fake_vmlinux()));
  auto h = parse_setup_header(file);
  EXPECT_TRUE(h.ok()) << h.message();
  return *h;
}

BootParamsConfig sample_config() {
  BootParamsConfig c;
  c.e820 = {
      {0, 0x9fc00, 1},           {0x9fc00, 0x400, 2},         {0xf0000, 0x10000, 2},
      {0x100000, 0x1ff00000, 1}, {0xb0000000, 0x10000000, 2}, {0x100000000ull, 0x40000000, 1}};
  c.cmdline_addr = 0x20000;
  c.initrd_addr = 0x1fc00000;
  c.initrd_size = 0x123456;
  c.acpi_rsdp_addr = 0xf5a20;
  return c;
}

TEST(BootParams, FieldsAtTheirOffsets) {
  SetupHeader h = fake_setup();
  auto zp = build_boot_params(&h, sample_config());
  ASSERT_TRUE(zp.ok()) << zp.message();
  const Bytes& b = *zp;
  ASSERT_EQ(b.size(), 4096u);
  // The setup header, copied from the image (0x1f1 .. 0x26c).
  EXPECT_EQ(b[0x1f1], 4);                       // setup_sects
  EXPECT_EQ(get_le(b, 0x1fe, 2), 0xaa55u);      // boot_flag
  EXPECT_EQ(get_le(b, 0x202, 4), 0x53726448u);  // "HdrS"
  EXPECT_EQ(get_le(b, 0x206, 2), 0x020fu);      // version
  EXPECT_EQ(get_le(b, 0x236, 2), 0x7fu);        // xloadflags
  EXPECT_EQ(get_le(b, 0x258, 8), 0x1000000u);   // pref_address
  EXPECT_EQ(get_le(b, 0x260, 4), 0x2800000u);   // init_size
  EXPECT_EQ(get_le(b, 0x268, 4), 0x1234u);      // kernel_info_offset
  EXPECT_EQ(b[0x26c], 0);                       // nothing past the header
  // What the loader fills.
  EXPECT_EQ(b[0x210], 0xff);                    // type_of_loader
  EXPECT_EQ(b[0x1ef], 0);                       // sentinel
  EXPECT_EQ(get_le(b, 0x228, 4), 0x20000u);     // cmd_line_ptr
  EXPECT_EQ(get_le(b, 0x0c8, 4), 0u);           // ext_cmd_line_ptr
  EXPECT_EQ(get_le(b, 0x218, 4), 0x1fc00000u);  // ramdisk_image
  EXPECT_EQ(get_le(b, 0x0c0, 4), 0u);           // ext_ramdisk_image
  EXPECT_EQ(get_le(b, 0x21c, 4), 0x123456u);    // ramdisk_size
  EXPECT_EQ(get_le(b, 0x070, 8), 0xf5a20u);     // acpi_rsdp_addr
  EXPECT_EQ(b[0x1e8], 6);                       // e820_entries
  // e820_table: 20-byte packed {addr, size, type} from 0x2d0.
  EXPECT_EQ(get_le(b, 0x2d0, 8), 0u);
  EXPECT_EQ(get_le(b, 0x2d8, 8), 0x9fc00u);
  EXPECT_EQ(get_le(b, 0x2e0, 4), 1u);
  EXPECT_EQ(get_le(b, 0x2e4, 8), 0x9fc00u);
  EXPECT_EQ(get_le(b, 0x2ec, 8), 0x400u);
  EXPECT_EQ(get_le(b, 0x2f4, 4), 2u);
  size_t last = 0x2d0 + 5 * 20;
  EXPECT_EQ(get_le(b, last, 8), 0x100000000ull);
  EXPECT_EQ(get_le(b, last + 8, 8), 0x40000000u);
  EXPECT_EQ(get_le(b, last + 16, 4), 1u);
  EXPECT_EQ(get_le(b, last + 20, 8), 0u);  // no seventh entry
  // Untouched areas stay zero.
  for (size_t i = 0; i < 0x70; ++i) EXPECT_EQ(b[i], 0) << i;
  for (size_t i = 0xd00; i < 4096; ++i) ASSERT_EQ(b[i], 0) << i;
}

TEST(BootParams, HighAddressesUseTheExtFields) {
  SetupHeader h = fake_setup();
  BootParamsConfig c;
  c.cmdline_addr = 0x123456789ull;
  c.initrd_addr = 0x200000000ull;
  c.initrd_size = 0x100000001ull;
  auto zp = build_boot_params(&h, c);
  ASSERT_TRUE(zp.ok()) << zp.message();
  EXPECT_EQ(get_le(*zp, 0x228, 4), 0x23456789u);
  EXPECT_EQ(get_le(*zp, 0x0c8, 4), 0x1u);
  EXPECT_EQ(get_le(*zp, 0x218, 4), 0u);
  EXPECT_EQ(get_le(*zp, 0x0c0, 4), 0x2u);
  EXPECT_EQ(get_le(*zp, 0x21c, 4), 1u);
  EXPECT_EQ(get_le(*zp, 0x0c4, 4), 1u);
  EXPECT_EQ(get_le(*zp, 0x070, 8), 0u);
  EXPECT_EQ((*zp)[0x1e8], 0);
}

TEST(BootParams, InitrdAboveTheLimitOfAnOldKernel) {
  SetupHeader h = fake_setup();
  h.xloadflags &= uint16_t(~kXlfCanBeLoadedAbove4G);
  BootParamsConfig c;
  c.initrd_addr = 0x7ff00000;
  c.initrd_size = 0x200000;
  auto zp = build_boot_params(&h, c);
  ASSERT_FALSE(zp.ok());
  EXPECT_THAT(zp.message(), ::testing::HasSubstr("initrd_addr_max 0x7fffffff"));
  h.xloadflags |= kXlfCanBeLoadedAbove4G;
  EXPECT_TRUE(build_boot_params(&h, c).ok());
  c.initrd_addr = 0xffffffffffff0000ull;
  c.initrd_size = 0x20000;
  auto wrap = build_boot_params(&h, c);
  ASSERT_FALSE(wrap.ok());
  EXPECT_THAT(wrap.message(), ::testing::HasSubstr("wraps around"));
}

TEST(BootParams, E820Limit) {
  BootParamsConfig c;
  c.e820.resize(128, {0, 0x1000, 1});
  auto ok = build_boot_params(nullptr, c);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0x1e8], 128);
  EXPECT_EQ(get_le(*ok, 0x2d0 + 127 * 20 + 8, 8), 0x1000u);
  c.e820.resize(129, {0, 0x1000, 1});
  auto bad = build_boot_params(nullptr, c);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "too many e820 entries: 129 (the zero page holds 128)");
}

TEST(BootParams, MinimalHeaderForPlainElf) {
  auto zp = build_boot_params(nullptr, sample_config());
  ASSERT_TRUE(zp.ok());
  const Bytes& b = *zp;
  EXPECT_EQ(get_le(b, 0x1fe, 2), 0xaa55u);
  EXPECT_EQ(get_le(b, 0x202, 4), 0x53726448u);
  EXPECT_EQ(get_le(b, 0x206, 2), 0x020fu);
  EXPECT_EQ(get_le(b, 0x230, 4), 0x1000000u);
  EXPECT_EQ(b[0x210], 0xff);
  EXPECT_EQ(get_le(b, 0x228, 4), 0x20000u);
  EXPECT_EQ(b[0x1e8], 6);
}

}  // namespace
}  // namespace machina
