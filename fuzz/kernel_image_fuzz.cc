// libFuzzer target: arbitrary bytes as a kernel image (bzImage or vmlinux ELF), with the
// decompressed size bounded; every accepted image's segments must lie inside the vmlinux.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "hw/i386/x86-boot-params.h"
#include "hw/i386/x86-kernel-image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  machina::KernelParseOptions opts;
  opts.max_vmlinux_size = size_t{16} << 20;
  auto img = machina::parse_kernel_image(std::span<const uint8_t>(data, size), opts);
  if (!img.ok()) return 0;
  for (size_t i = 0; i < img->segments.size(); ++i) {
    if (img->segment_bytes(i).size() > img->vmlinux.size()) std::abort();
  }
  machina::BootParamsConfig cfg;
  cfg.e820 = {{0, 0x9fc00, 1}, {0x100000, 0x10000000, 1}};
  cfg.cmdline_addr = 0x20000;
  auto zp = machina::build_boot_params(img->setup ? &*img->setup : nullptr, cfg);
  if (zp.ok() && zp->size() != machina::kBootParamsSize) std::abort();
  return 0;
}
