// Direct Linux boot (-kernel/-initrd/-append) for the software CPU and KVM alike: loads the
// kernel's vmlinux segments, the initrd, the command line and the zero page into guest RAM, and
// builds the identity-mapped page tables and GDT of the x86-64 boot protocol's 64-bit entry.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hw/i386/x86-boot-params.h"
#include "qapi/error.h"

namespace machina {

struct DirectBootConfig {
  std::string kernel, initrd, cmdline;
  std::vector<E820Entry> e820;
  uint64_t below_4g_ram = 0;  // bytes of RAM from address 0 (the initrd goes below its end)
  uint64_t acpi_rsdp_addr = 0;
};

// Where the boot CPU starts: 64-bit mode with CR3 = `cr3`, GDT at gdt_base/gdt_limit holding
// __BOOT_CS (0x10) and __BOOT_DS (0x18), RIP = entry, RSI = zero_page.
struct DirectBootState {
  uint64_t entry = 0;
  uint64_t zero_page = 0;
  uint64_t cr3 = 0;
  uint64_t gdt_base = 0;
  uint16_t gdt_limit = 0;
  uint64_t initrd_addr = 0;  // where the initrd went (0: none)
  size_t setup_size = 0;     // bytes of real-mode setup at the start of a bzImage (0: an ELF)
};

// Fixed guest-physical addresses of the boot structures (all below 640 KiB).
namespace direct_boot {
inline constexpr uint64_t kGdt = 0x500;
inline constexpr uint64_t kZeroPage = 0x7000;
inline constexpr uint64_t kPml4 = 0x9000;  // then the PDPT and four page directories
inline constexpr uint64_t kCmdline = 0x20000;
inline constexpr uint64_t kCmdlineMax = 0x10000;
inline constexpr uint64_t kIdentityMapped = uint64_t{4} << 30;  // with 2 MiB pages
}  // namespace direct_boot

// Loads everything into guest RAM (address_space_memory()). Errors name the file and what is
// wrong with it (missing, truncated, not a 64-bit kernel, does not fit in RAM).
Result<DirectBootState> x86_load_linux(const DirectBootConfig& cfg);

// Writes the GDT and the identity-mapped page tables of the 64-bit entry into guest RAM and
// fills st->cr3/gdt_base/gdt_limit (used by x86_load_linux, tests and benchmarks).
Status x86_write_long_mode_structures(DirectBootState* st);

// The PC's e820 map for `below_4g` bytes of RAM at 0 and `above_4g` at 4 GiB.
std::vector<E820Entry> pc_e820_map(uint64_t below_4g, uint64_t above_4g);

}  // namespace machina
