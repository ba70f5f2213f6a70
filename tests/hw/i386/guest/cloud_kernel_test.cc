// The real Debian cloud kernel (built by scripts/build-guest.sh) through the bzImage parser.
// Label `guest`: fails, not skips, when the guest has not been built.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <vector>

#include "hw/i386/x86-boot-params.h"
#include "hw/i386/x86-kernel-image.h"

namespace machina {
namespace {

namespace fs = std::filesystem;

// MACHINA_GUEST_DIR, or build/guest in the source tree.
fs::path guest_dir() {
  if (const char* d = std::getenv("MACHINA_GUEST_DIR")) return d;
  return fs::path(__FILE__).parent_path() / "../../../../build/guest";
}

TEST(CloudKernel, ParsesAndDecompresses) {
  fs::path vmlinuz = guest_dir() / "vmlinuz";
  ASSERT_TRUE(fs::exists(vmlinuz)) << vmlinuz << " is missing: run scripts/build-guest.sh";
  auto t0 = std::chrono::steady_clock::now();
  auto img = load_kernel_image_file(vmlinuz.string());
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0);
  ASSERT_TRUE(img.ok()) << img.message();
  RecordProperty("load_ms", int(ms.count()));
  std::printf("cloud kernel: read + decompress + parse in %.1f ms, vmlinux %zu bytes\n", ms.count(),
              img->vmlinux.size());

  EXPECT_EQ(img->format, KernelFormat::BzImage);
  EXPECT_EQ(img->compression, KernelCompression::Lz4);
  ASSERT_TRUE(img->setup.has_value());
  const SetupHeader& h = *img->setup;
  EXPECT_GE(h.version, 0x020f);
  EXPECT_TRUE(h.is_64bit());
  EXPECT_TRUE(h.xloadflags & kXlfCanBeLoadedAbove4G);
  EXPECT_EQ(h.pref_address, 0x1000000u);
  EXPECT_TRUE(h.relocatable_kernel);
  EXPECT_GE(h.init_size, img->highest_paddr_end - img->lowest_paddr);
  EXPECT_GE(h.cmdline_size, 255u);

  // The vmlinux: loadable segments from 16 MiB up, entry (startup_64) at their start.
  ASSERT_GE(img->segments.size(), 3u);
  EXPECT_EQ(img->lowest_paddr, 0x1000000u);
  EXPECT_GT(img->highest_paddr_end, 0x1000000u + (16u << 20));
  EXPECT_LT(img->highest_paddr_end, 0x1000000u + (256u << 20));
  for (size_t i = 0; i < img->segments.size(); ++i) {
    const KernelSegment& s = img->segments[i];
    EXPECT_GE(s.paddr, 0x1000000u) << i;
    // Kernel text/data at -2 GiB; the per-CPU area is linked at virtual 0.
    EXPECT_TRUE(s.vaddr >= 0xffffffff80000000ull || s.vaddr == 0) << i;
    std::printf(
        "  PT_LOAD paddr 0x%08llx vaddr 0x%016llx filesz 0x%08llx memsz 0x%08llx flags %u\n",
        (unsigned long long)s.paddr, (unsigned long long)s.vaddr, (unsigned long long)s.filesz,
        (unsigned long long)s.memsz, s.flags);
    EXPECT_LE(s.filesz, s.memsz) << i;
  }
  EXPECT_EQ(img->entry_paddr, 0x1000000u);
  ASSERT_TRUE(img->pvh_entry.has_value()) << "CONFIG_PVH=y: the PVH note must be present";
  EXPECT_GE(*img->pvh_entry, img->lowest_paddr);
  EXPECT_LT(*img->pvh_entry, img->highest_paddr_end);
  std::printf("  entry 0x%llx (paddr 0x%llx), PVH entry 0x%llx, init_size 0x%x\n",
              (unsigned long long)img->elf_entry, (unsigned long long)img->entry_paddr,
              (unsigned long long)*img->pvh_entry, h.init_size);
  EXPECT_LT(ms.count(), 5000.0);

  // The decompression alone.
  std::ifstream f(vmlinuz, std::ios::binary);
  std::vector<uint8_t> file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto payload =
      std::span<const uint8_t>(file).subspan(h.kernel_offset + h.payload_offset, h.payload_length);
  auto t1 = std::chrono::steady_clock::now();
  auto out = decompress_kernel_payload(KernelCompression::Lz4, payload, size_t{512} << 20);
  auto dms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1);
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(*out, img->vmlinux);
  std::printf("  LZ4 decompression of %u bytes -> %zu bytes: %.1f ms\n", h.payload_length,
              out->size(), dms.count());

  BootParamsConfig cfg;
  cfg.e820 = {{0, 0x9fc00, 1}, {0x100000, 0x1ff00000, 1}};
  cfg.cmdline_addr = 0x20000;
  auto zp = build_boot_params(&h, cfg);
  ASSERT_TRUE(zp.ok()) << zp.message();
  EXPECT_EQ((*zp)[0x210], 0xff);
  EXPECT_EQ((*zp)[0x1f1], h.setup_sects);
}

TEST(CloudKernel, KverAndInitramfsPresent) {
  fs::path dir = guest_dir();
  ASSERT_TRUE(fs::exists(dir / "initramfs.gz")) << "run scripts/build-guest.sh";
  std::ifstream k(dir / "KVER");
  std::string kver;
  std::getline(k, kver);
  EXPECT_THAT(kver, ::testing::EndsWith("-cloud-amd64"));
  EXPECT_GT(fs::file_size(dir / "initramfs.gz"), 500u * 1024);
}

}  // namespace
}  // namespace machina
