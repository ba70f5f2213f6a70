// bzImage / vmlinux parsing and host-side payload decompression, on synthetic images.
#include "hw/i386/x86-kernel-image.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <random>

#include "hw/i386/kernel_image_builder.h"

namespace machina {
namespace {

using test::Bytes;
using test::FakeBzImage;
using test::FakeElf;
using ::testing::HasSubstr;

void expect_fake_vmlinux(const KernelImage& img, const Bytes& elf) {
  EXPECT_EQ(img.vmlinux, elf);
  ASSERT_EQ(img.segments.size(), 2u);
  EXPECT_EQ(img.segments[0].paddr, FakeElf::kSeg0Paddr);
  EXPECT_EQ(img.segments[0].vaddr, FakeElf::kSeg0Vaddr);
  EXPECT_EQ(img.segments[0].filesz, FakeElf::kSeg0Size);
  EXPECT_EQ(img.segments[0].memsz, FakeElf::kSeg0Size);
  EXPECT_EQ(img.segments[0].flags, 5u);
  EXPECT_EQ(img.segments[1].paddr, FakeElf::kSeg1Paddr);
  EXPECT_EQ(img.segments[1].filesz, FakeElf::kSeg1Filesz);
  EXPECT_EQ(img.segments[1].memsz, FakeElf::kSeg1Memsz);
  auto s0 = img.segment_bytes(0);
  auto s1 = img.segment_bytes(1);
  ASSERT_EQ(s0.size(), FakeElf::kSeg0Size);
  ASSERT_EQ(s1.size(), FakeElf::kSeg1Filesz);
  EXPECT_EQ(s0[0], test::pattern_byte(0));
  EXPECT_EQ(s0[100], test::pattern_byte(100));
  EXPECT_EQ(s1[5], test::pattern_byte(FakeElf::kSeg0Size + 5));
  EXPECT_EQ(img.elf_entry, FakeElf::kSeg0Paddr);
  EXPECT_EQ(img.entry_paddr, FakeElf::kSeg0Paddr);
  ASSERT_TRUE(img.pvh_entry.has_value());
  EXPECT_EQ(*img.pvh_entry, FakeElf::kPvhEntry);
  EXPECT_EQ(img.lowest_paddr, FakeElf::kSeg0Paddr);
  EXPECT_EQ(img.highest_paddr_end, FakeElf::kSeg1Paddr + FakeElf::kSeg1Memsz);
}

class CodecTest : public ::testing::TestWithParam<KernelCompression> {};

TEST_P(CodecTest, BzImageRoundTrip) {
  Bytes elf = test::make_fake_vmlinux();
  Bytes payload = test::kernel_payload(GetParam(), elf);
  Bytes file = test::make_fake_bzimage(payload);
  EXPECT_EQ(detect_kernel_compression(payload), GetParam());
  auto img = parse_kernel_image(file);
  ASSERT_TRUE(img.ok()) << img.message();
  EXPECT_EQ(img->format, KernelFormat::BzImage);
  EXPECT_EQ(img->compression, GetParam());
  expect_fake_vmlinux(*img, elf);
  ASSERT_TRUE(img->setup.has_value());
  const SetupHeader& h = *img->setup;
  EXPECT_EQ(h.version, FakeBzImage::kVersion);
  EXPECT_EQ(h.version_string(), "2.15");
  EXPECT_EQ(h.setup_sects, FakeBzImage::kSetupSects);
  EXPECT_EQ(h.setup_size, FakeBzImage::kSetupSize);
  EXPECT_EQ(h.kernel_offset, FakeBzImage::kSetupSize);
  EXPECT_EQ(h.kernel_size, file.size() - FakeBzImage::kSetupSize);
  EXPECT_EQ(h.syssize * 16, h.kernel_size);
  EXPECT_EQ(h.payload_offset, FakeBzImage::kPayloadOffset);
  EXPECT_EQ(h.payload_length, payload.size());
  EXPECT_EQ(h.pref_address, FakeBzImage::kPrefAddress);
  EXPECT_EQ(h.init_size, FakeBzImage::kInitSize);
  EXPECT_EQ(h.kernel_alignment, 0x200000u);
  EXPECT_EQ(h.relocatable_kernel, 1);
  EXPECT_EQ(h.min_alignment, 21);
  EXPECT_EQ(h.xloadflags, 0x7f);
  EXPECT_TRUE(h.is_64bit());
  EXPECT_EQ(h.cmdline_size, 2047u);
  EXPECT_EQ(h.initrd_addr_max, 0x7fffffffu);
  EXPECT_EQ(h.loadflags, kLoadedHigh);
  EXPECT_EQ(h.handover_offset, 0x190u);
  EXPECT_EQ(h.kernel_info_offset, 0x1234u);
  EXPECT_EQ(h.raw.size(), 0x26cu - 0x1f1u);
  EXPECT_EQ(h.raw[0], FakeBzImage::kSetupSects);
  EXPECT_EQ(bzimage_entry64(h.pref_address), 0x1000200u);
}

// Payload cut short (header adjusted so the cut is inside the compressed stream): an error,
// never a crash, never a silently short kernel.
TEST_P(CodecTest, TruncatedPayloadFails) {
  Bytes elf = test::make_fake_vmlinux();
  Bytes payload = test::kernel_payload(GetParam(), elf);
  payload.resize(payload.size() - 4);  // without the size trailer
  for (size_t n = 1; n < payload.size(); n += std::max<size_t>(1, payload.size() / 300)) {
    Bytes cut(payload.begin(), payload.begin() + n);
    auto img = parse_kernel_image(test::make_fake_bzimage(cut));
    EXPECT_FALSE(img.ok()) << "cut at " << n;
  }
}

TEST_P(CodecTest, TruncatedFileFails) {
  Bytes file = test::make_fake_bzimage(test::kernel_payload(GetParam(), test::make_fake_vmlinux()));
  for (size_t n = 0; n < file.size() - 15; n += (n < 0x300 ? 1 : 37)) {
    auto img = parse_kernel_image(std::span<const uint8_t>(file).first(n));
    ASSERT_FALSE(img.ok()) << "cut at " << n;
    EXPECT_FALSE(img.message().empty());
  }
}

TEST_P(CodecTest, DecompressedSizeLimit) {
  Bytes elf = test::make_fake_vmlinux();
  Bytes payload = test::kernel_payload(GetParam(), elf);
  auto r = decompress_kernel_payload(GetParam(), payload, elf.size() - 1);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.message(), HasSubstr("larger than the limit"));
  auto ok = decompress_kernel_payload(GetParam(), payload, elf.size());
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_EQ(*ok, elf);
}

TEST_P(CodecTest, RandomCorruptionNeverCrashes) {
  Bytes elf = test::make_fake_vmlinux();
  Bytes payload = test::kernel_payload(GetParam(), elf);
  std::mt19937 rng(1234);
  int failures = 0;
  for (int i = 0; i < 300; ++i) {
    Bytes p = payload;
    size_t at = rng() % p.size();
    p[at] ^= uint8_t(1 + rng() % 255);
    auto img = parse_kernel_image(test::make_fake_bzimage(p));
    if (!img.ok()) {
      ++failures;
      EXPECT_FALSE(img.message().empty());
    } else if (GetParam() != KernelCompression::Lz4) {
      // Only LZ4 (no checksum) may accept damaged data; the rest carry checksums.
      EXPECT_EQ(img->vmlinux, elf) << "flip at " << at;
    }
  }
  EXPECT_GT(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(Codecs, CodecTest,
                         ::testing::Values(KernelCompression::Lz4, KernelCompression::Xz,
                                           KernelCompression::Gzip, KernelCompression::Zstd),
                         [](const auto& info) { return kernel_compression_name(info.param); });

TEST(KernelImage, CorruptChecksummedPayloadsFail) {
  Bytes elf = test::make_fake_vmlinux();
  for (auto c : {KernelCompression::Xz, KernelCompression::Gzip, KernelCompression::Zstd}) {
    Bytes payload = test::kernel_payload(c, elf);
    for (size_t at = 20; at + 24 < payload.size(); at += 53) {
      Bytes p = payload;
      p[at] ^= 0x55;
      auto img = parse_kernel_image(test::make_fake_bzimage(p));
      ASSERT_FALSE(img.ok()) << kernel_compression_name(c) << " flip at " << at;
      EXPECT_THAT(img.message(), ::testing::AnyOf(HasSubstr("corrupt"), HasSubstr("truncated"),
                                                  HasSubstr("larger than")))
          << img.message();
    }
  }
}

TEST(KernelImage, Lz4MultiBlockAndConcatenatedFrames) {
  Bytes elf = test::make_fake_vmlinux();
  Bytes p = test::compress_lz4_legacy(elf, 4096);
  Bytes second = test::compress_lz4_legacy(Bytes(), 4096);  // a bare magic
  p.insert(p.end(), second.begin(), second.end());
  test::put_le(p, p.size(), elf.size(), 4);
  auto out = decompress_kernel_payload(KernelCompression::Lz4, p, 1 << 20);
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(*out, elf);
  // Without the trailer, ending on a block boundary is fine too.
  Bytes no_trailer = test::compress_lz4_legacy(elf, 4096);
  auto out2 = decompress_kernel_payload(KernelCompression::Lz4, no_trailer, 1 << 20);
  ASSERT_TRUE(out2.ok()) << out2.message();
  EXPECT_EQ(*out2, elf);
}

TEST(KernelImage, Lz4BadBlocks) {
  Bytes elf = test::make_fake_vmlinux();
  Bytes p = test::compress_lz4_legacy(elf);
  Bytes huge = p;
  test::put_le(huge, 4, 0xfffffff0u, 4);
  auto r = decompress_kernel_payload(KernelCompression::Lz4, huge, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.message(), HasSubstr("impossible size"));
  Bytes garbage = p;
  for (size_t i = 8; i < garbage.size(); ++i) garbage[i] = 0xff;
  r = decompress_kernel_payload(KernelCompression::Lz4, garbage, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.message(), HasSubstr("does not decompress"));
  Bytes longer = p;
  test::put_le(longer, 4, test::get_le(p, 4, 4) + 100, 4);
  r = decompress_kernel_payload(KernelCompression::Lz4, longer, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.message(), HasSubstr("truncated LZ4"));
  r = decompress_kernel_payload(KernelCompression::Lz4, Bytes{0x02, 0x21, 0x4c, 0x18}, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.message(), HasSubstr("truncated LZ4"));
}

TEST(KernelImage, PlainElfAccepted) {
  Bytes elf = test::make_fake_vmlinux();
  auto img = parse_kernel_image(elf);
  ASSERT_TRUE(img.ok()) << img.message();
  EXPECT_EQ(img->format, KernelFormat::Elf);
  EXPECT_EQ(img->compression, KernelCompression::None);
  EXPECT_FALSE(img->setup.has_value());
  expect_fake_vmlinux(*img, elf);
}

TEST(KernelImage, VirtualEntryIsTranslatedToPhysical) {
  Bytes elf = test::make_fake_vmlinux(FakeElf::kSeg1Vaddr + 0x10, false);
  auto img = parse_kernel_image(elf);
  ASSERT_TRUE(img.ok()) << img.message();
  EXPECT_EQ(img->elf_entry, FakeElf::kSeg1Vaddr + 0x10);
  EXPECT_EQ(img->entry_paddr, FakeElf::kSeg1Paddr + 0x10);
  EXPECT_FALSE(img->pvh_entry.has_value());
}

TEST(KernelImage, UncompressedBzImagePayload) {
  Bytes elf = test::make_fake_vmlinux();
  auto img = parse_kernel_image(
      test::make_fake_bzimage(test::kernel_payload(KernelCompression::None, elf)));
  ASSERT_TRUE(img.ok()) << img.message();
  EXPECT_EQ(img->compression, KernelCompression::None);
  expect_fake_vmlinux(*img, elf);
}

TEST(KernelImage, UnsupportedCompressions) {
  struct Case {
    Bytes magic;
    const char* name;
  };
  for (const Case& c :
       {Case{{'B', 'Z', 'h', '9', 1, 2, 3}, "bzip2"}, Case{{0x5d, 0, 0, 0x80, 0, 1, 2}, "lzma"},
        Case{{0x89, 'L', 'Z', 'O', 0, 0x0d, 0x0a, 0x1a, 0x0a, 1}, "lzo"}}) {
    auto img = parse_kernel_image(test::make_fake_bzimage(c.magic));
    ASSERT_FALSE(img.ok());
    EXPECT_EQ(img.message(), std::string("unsupported kernel compression '") + c.name +
                                 "' (supported: lz4, xz, gzip, zstd, uncompressed)");
  }
  auto img = parse_kernel_image(test::make_fake_bzimage(Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
  ASSERT_FALSE(img.ok());
  EXPECT_THAT(img.message(), HasSubstr("magic bytes match no known format"));
}

TEST(KernelImage, DecompressedNotElf) {
  Bytes junk(5000, 0x41);
  auto img = parse_kernel_image(
      test::make_fake_bzimage(test::kernel_payload(KernelCompression::Gzip, junk)));
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.message(), "corrupt bzImage: the gzip payload does not decompress to an ELF image");
}

TEST(KernelImage, NotAKernel) {
  auto img = parse_kernel_image(Bytes{});
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.message(), "the kernel image is empty");
  img = parse_kernel_image(Bytes(100, 'M'));
  ASSERT_FALSE(img.ok());
  EXPECT_THAT(img.message(), HasSubstr("too short for a setup header"));
  img = parse_kernel_image(Bytes(4096, 'M'));
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.message(), "not a Linux kernel: neither a bzImage ('HdrS' header) nor an ELF");
}

TEST(KernelImage, SetupHeaderErrors) {
  Bytes payload = test::kernel_payload(KernelCompression::Gzip, test::make_fake_vmlinux());
  auto old = parse_kernel_image(test::make_fake_bzimage(payload, 0x020a));
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.message(), "kernel boot protocol 2.10 is too old (2.12 or later is needed)");
  auto k32 = parse_kernel_image(test::make_fake_bzimage(payload, 0x020f, 0));
  ASSERT_FALSE(k32.ok());
  EXPECT_THAT(k32.message(), HasSubstr("XLF_KERNEL_64"));
  Bytes bad_flag = test::make_fake_bzimage(payload);
  bad_flag[0x1fe] = 0;
  auto bf = parse_kernel_image(bad_flag);
  ASSERT_FALSE(bf.ok());
  EXPECT_THAT(bf.message(), HasSubstr("boot_flag"));
  Bytes bad_payload = test::make_fake_bzimage(payload);
  test::put_le(bad_payload, 0x248, 0xfffffff0u, 4);
  auto bp = parse_kernel_image(bad_payload);
  ASSERT_FALSE(bp.ok());
  EXPECT_THAT(bp.message(), HasSubstr("extends past the kernel code"));
  Bytes zero_len = test::make_fake_bzimage(payload);
  test::put_le(zero_len, 0x24c, 0, 4);
  auto zl = parse_kernel_image(zero_len);
  ASSERT_FALSE(zl.ok());
  EXPECT_THAT(zl.message(), HasSubstr("no payload"));
  Bytes big_sys = test::make_fake_bzimage(payload);
  test::put_le(big_sys, 0x1f4, 0x10000000, 4);
  auto bs = parse_kernel_image(big_sys);
  ASSERT_FALSE(bs.ok());
  EXPECT_THAT(bs.message(), HasSubstr("truncated bzImage"));
  Bytes big_setup = test::make_fake_bzimage(payload);
  big_setup[0x1f1] = 0xff;
  auto bsu = parse_kernel_image(big_setup);
  ASSERT_FALSE(bsu.ok());
  EXPECT_THAT(bsu.message(), HasSubstr("truncated bzImage"));
}

TEST(KernelImage, ElfErrors) {
  Bytes good = test::make_fake_vmlinux();
  auto expect_error = [](Bytes e, const std::string& want) {
    auto img = parse_kernel_image(e);
    ASSERT_FALSE(img.ok()) << want;
    EXPECT_THAT(img.message(), HasSubstr(want));
  };
  Bytes e = good;
  e[4] = 1;
  expect_error(e, "not ELF64");
  e = good;
  e[5] = 2;
  expect_error(e, "not little-endian");
  e = good;
  test::put_le(e, 0x12, 3, 2);
  expect_error(e, "machine 3 is not x86-64");
  e = good;
  test::put_le(e, 0x10, 1, 2);
  expect_error(e, "not an executable");
  e = good;
  test::put_le(e, 0x38, 0, 2);
  expect_error(e, "no program headers");
  e = good;
  test::put_le(e, 0x36, 32, 2);
  expect_error(e, "program header size 32");
  e = good;
  test::put_le(e, 0x20, 0xfffffffffffffff0ull, 8);
  expect_error(e, "program headers");
  e = good;
  test::put_le(e, FakeElf::kPhoff + 56 + 0x20, FakeElf::kSeg1Memsz + 1, 8);  // filesz > memsz
  expect_error(e, "filesz > memsz");
  e = good;
  test::put_le(e, FakeElf::kPhoff + 8, 0xfffffffffffff000ull, 8);  // offset
  expect_error(e, "extends past the end");
  e = good;
  test::put_le(e, FakeElf::kPhoff + 0x18, 0xfffffffffffff000ull, 8);  // paddr wraps
  expect_error(e, "wraps around");
  e = good;
  test::put_le(e, 0x18, 0x5000000, 8);
  expect_error(e, "entry point 0x5000000 is not inside a loadable segment");
  e = good;
  test::put_le(e, FakeElf::kPhoff, 6, 4);
  test::put_le(e, FakeElf::kPhoff + 56, 6, 4);
  expect_error(e, "no loadable (PT_LOAD) segments");
  expect_error(Bytes(good.begin(), good.begin() + 40), "too short for an ELF64 header");
}

TEST(KernelImage, TruncatedElfAtEveryOffsetFails) {
  Bytes good = test::make_fake_vmlinux();
  for (size_t n = 4; n < good.size(); n += (n < 0x300 ? 1 : 13)) {
    auto img = parse_kernel_image(std::span<const uint8_t>(good).first(n));
    ASSERT_FALSE(img.ok()) << "cut at " << n;
  }
}

TEST(KernelImage, MalformedNotesAreIgnored) {
  Bytes e = test::make_fake_vmlinux();
  test::put_le(e, FakeElf::kNoteOff, 0xfffffff0u, 4);  // first note's namesz
  auto img = parse_kernel_image(e);
  ASSERT_TRUE(img.ok()) << img.message();
  EXPECT_FALSE(img->pvh_entry.has_value());
  e = test::make_fake_vmlinux();
  test::put_le(e, FakeElf::kNoteOff + 24 + 4, 4, 4);  // PVH desc as 4 bytes
  img = parse_kernel_image(e);
  ASSERT_TRUE(img.ok()) << img.message();
  ASSERT_TRUE(img->pvh_entry.has_value());
  EXPECT_EQ(*img->pvh_entry, FakeElf::kPvhEntry & 0xffffffff);
}

TEST(KernelImage, RandomMutationsNeverCrash) {
  Bytes file = test::make_fake_bzimage(
      test::kernel_payload(KernelCompression::Lz4, test::make_fake_vmlinux()));
  Bytes elf = test::make_fake_vmlinux();
  std::mt19937 rng(99);
  for (int i = 0; i < 2000; ++i) {
    Bytes f = (i % 2) ? file : elf;
    int flips = 1 + int(rng() % 8);
    for (int k = 0; k < flips; ++k) {
      // Mostly the headers, where the offsets live.
      size_t at = (rng() % 4) ? rng() % std::min<size_t>(f.size(), 0x300) : rng() % f.size();
      f[at] = uint8_t(rng());
    }
    auto img = parse_kernel_image(f, KernelParseOptions{.max_vmlinux_size = 1 << 20});
    if (img.ok()) {
      for (size_t s = 0; s < img->segments.size(); ++s) {
        EXPECT_LE(img->segment_bytes(s).size(), img->vmlinux.size());
      }
    } else {
      EXPECT_FALSE(img.message().empty());
    }
  }
}

TEST(KernelImage, FileErrorsNameTheFile) {
  auto img = load_kernel_image_file("/nonexistent/vmlinuz");
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.message(),
            "could not open kernel file '/nonexistent/vmlinuz': No such file or directory");
  char path[] = "/tmp/machina-kernel-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  Bytes file = test::make_fake_bzimage(
      test::kernel_payload(KernelCompression::Zstd, test::make_fake_vmlinux()));
  ASSERT_EQ(write(fd, file.data(), file.size()), ssize_t(file.size()));
  close(fd);
  auto ok = load_kernel_image_file(path);
  EXPECT_TRUE(ok.ok()) << ok.message();
  truncate(path, 0x100);
  auto bad = load_kernel_image_file(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.message(), HasSubstr(std::string("kernel file '") + path + "': not a bzImage"));
  unlink(path);
}

}  // namespace
}  // namespace machina
