#include "hw/i386/x86-boot-params.h"

#include <algorithm>
#include <string>

namespace machina {
namespace {

void put(std::vector<uint8_t>& b, size_t off, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) b[off + i] = uint8_t(v >> (8 * i));
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

Result<std::vector<uint8_t>> build_boot_params(const SetupHeader* setup,
                                               const BootParamsConfig& cfg) {
  namespace zp = zero_page;
  if (cfg.e820.size() > kMaxE820Entries) {
    return generic_error("too many e820 entries: " + std::to_string(cfg.e820.size()) +
                         " (the zero page holds " + std::to_string(kMaxE820Entries) + ")");
  }
  if (cfg.initrd_size != 0) {
    uint64_t last = cfg.initrd_addr + cfg.initrd_size - 1;
    if (last < cfg.initrd_addr) return generic_error("the initrd wraps around the address space");
    bool above_4g_ok = !setup || (setup->xloadflags & kXlfCanBeLoadedAbove4G) != 0;
    if (setup && !above_4g_ok && last > setup->initrd_addr_max) {
      return generic_error("the initrd at " + hex(cfg.initrd_addr) + " ends above the kernel's " +
                           "initrd_addr_max " + hex(setup->initrd_addr_max));
    }
  }
  std::vector<uint8_t> b(kBootParamsSize, 0);
  if (setup) {
    size_t n = std::min(setup->raw.size(), kSetupHeaderMaxEnd - zp::kSetupHeader);
    std::copy_n(setup->raw.begin(), n, b.begin() + zp::kSetupHeader);
  } else {
    // A minimal header for a plain vmlinux, as a loader of the 64-bit protocol provides.
    put(b, 0x1fe, 0xaa55, 2);        // boot_flag
    put(b, 0x202, 0x53726448, 4);    // "HdrS"
    put(b, 0x206, 0x020f, 2);        // version
    put(b, 0x230, 0x01000000, 4);    // kernel_alignment
    put(b, 0x236, kXlfKernel64, 2);  // xloadflags
    put(b, 0x238, 0xffffffff, 4);    // cmdline_size: unknown, any
  }
  b[zp::kSentinel] = 0;
  b[zp::kTypeOfLoader] = kTypeOfLoaderUndefined;
  put(b, zp::kCmdLinePtr, cfg.cmdline_addr & 0xffffffff, 4);
  put(b, zp::kExtCmdLinePtr, cfg.cmdline_addr >> 32, 4);
  put(b, zp::kRamdiskImage, cfg.initrd_addr & 0xffffffff, 4);
  put(b, zp::kExtRamdiskImage, cfg.initrd_addr >> 32, 4);
  put(b, zp::kRamdiskSize, cfg.initrd_size & 0xffffffff, 4);
  put(b, zp::kExtRamdiskSize, cfg.initrd_size >> 32, 4);
  put(b, zp::kAcpiRsdpAddr, cfg.acpi_rsdp_addr, 8);
  b[zp::kE820Entries] = uint8_t(cfg.e820.size());
  for (size_t i = 0; i < cfg.e820.size(); ++i) {
    size_t at = zp::kE820Table + i * zp::kE820EntrySize;
    put(b, at, cfg.e820[i].addr, 8);
    put(b, at + 8, cfg.e820[i].size, 8);
    put(b, at + 16, cfg.e820[i].type, 4);
  }
  return b;
}

}  // namespace machina
