// The x86 "zero page" (struct boot_params, 4 KiB) a boot loader hands to the Linux kernel at its
// 64-bit entry (rsi points to it). Built as bytes at the offsets of
// Documentation/x86/zero-page.rst and boot.rst.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hw/i386/x86-kernel-image.h"
#include "qapi/error.h"

namespace machina {

inline constexpr size_t kBootParamsSize = 4096;
inline constexpr size_t kMaxE820Entries = 128;
inline constexpr uint8_t kTypeOfLoaderUndefined = 0xff;

// boot_params offsets used here.
namespace zero_page {
inline constexpr size_t kAcpiRsdpAddr = 0x070;     // u64
inline constexpr size_t kExtRamdiskImage = 0x0c0;  // u32, high half of ramdisk_image
inline constexpr size_t kExtRamdiskSize = 0x0c4;   // u32
inline constexpr size_t kExtCmdLinePtr = 0x0c8;    // u32
inline constexpr size_t kE820Entries = 0x1e8;      // u8
inline constexpr size_t kSentinel = 0x1ef;         // u8, must be 0
inline constexpr size_t kSetupHeader = 0x1f1;
inline constexpr size_t kVidMode = 0x1fa;       // u16
inline constexpr size_t kTypeOfLoader = 0x210;  // u8
inline constexpr size_t kLoadflags = 0x211;     // u8
inline constexpr size_t kRamdiskImage = 0x218;  // u32
inline constexpr size_t kRamdiskSize = 0x21c;   // u32
inline constexpr size_t kCmdLinePtr = 0x228;    // u32
inline constexpr size_t kE820Table = 0x2d0;     // 128 x {u64 addr, u64 size, u32 type}
inline constexpr size_t kE820EntrySize = 20;
}  // namespace zero_page

enum class E820Type : uint32_t { Ram = 1, Reserved = 2, Acpi = 3, Nvs = 4, Unusable = 5 };

struct E820Entry {
  uint64_t addr = 0;
  uint64_t size = 0;
  uint32_t type = uint32_t(E820Type::Ram);
};

struct BootParamsConfig {
  std::vector<E820Entry> e820;
  uint64_t cmdline_addr = 0;  // physical address of the NUL-terminated command line
  uint64_t initrd_addr = 0;   // 0 with initrd_size 0: no initrd
  uint64_t initrd_size = 0;
  uint64_t acpi_rsdp_addr = 0;  // 0: the kernel scans for the RSDP itself
};

// Fills a zero page: the kernel's setup header (copied from the bzImage, or a minimal one for a
// plain ELF when `setup` is null) plus type_of_loader 0xff, the command line, initrd and RSDP
// addresses and the e820 map. Errors: more than 128 e820 entries.
Result<std::vector<uint8_t>> build_boot_params(const SetupHeader* setup,
                                               const BootParamsConfig& cfg);

}  // namespace machina
