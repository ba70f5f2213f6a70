// Linux x86 kernel images for direct boot: a bzImage (setup header + compressed vmlinux) or a
// plain vmlinux ELF64. The bzImage's payload is decompressed on the host so that the vmlinux's
// PT_LOAD segments can be placed at their physical addresses and the boot CPU started at the
// 64-bit entry (or the PVH entry), skipping the in-guest decompressor.
// Reference: Documentation/x86/boot.rst (setup header, boot protocol 2.12+).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hw/i386/x86-kernel-decompress.h"
#include "qapi/error.h"

namespace machina {

// Offsets in a bzImage file (and in boot_params) of the setup header.
inline constexpr size_t kSetupHeaderStart = 0x1f1;
// The setup header ends at 0x202 + the byte at 0x201; boot_params has room up to 0x290.
inline constexpr size_t kSetupHeaderMaxEnd = 0x290;
// Oldest boot protocol accepted: 2.12 (64-bit entry, xloadflags, payload fields, pref_address).
inline constexpr uint16_t kMinBootProtocol = 0x020c;
// The 64-bit entry of a bzImage's protected-mode code is at its load address + 0x200.
inline constexpr uint64_t kBzImageEntry64Offset = 0x200;

// loadflags bits
inline constexpr uint8_t kLoadedHigh = 0x01;
inline constexpr uint8_t kCanUseHeap = 0x80;
// xloadflags bits
inline constexpr uint16_t kXlfKernel64 = 0x01;
inline constexpr uint16_t kXlfCanBeLoadedAbove4G = 0x02;
inline constexpr uint16_t kXlfEfiHandover32 = 0x04;
inline constexpr uint16_t kXlfEfiHandover64 = 0x08;
inline constexpr uint16_t kXlfEfiKexec = 0x10;

// The fields of a bzImage's setup header (all little-endian in the file).
struct SetupHeader {
  uint8_t setup_sects = 0;  // as in the file (0 means 4)
  uint16_t root_flags = 0;
  uint32_t syssize = 0;  // protected-mode code size in 16-byte units
  uint16_t vid_mode = 0;
  uint16_t boot_flag = 0;  // 0xAA55
  uint32_t header = 0;     // "HdrS"
  uint16_t version = 0;    // boot protocol, e.g. 0x020f
  uint16_t kernel_version = 0;
  uint8_t type_of_loader = 0;
  uint8_t loadflags = 0;
  uint32_t code32_start = 0;
  uint32_t ramdisk_image = 0;
  uint32_t ramdisk_size = 0;
  uint16_t heap_end_ptr = 0;
  uint32_t cmd_line_ptr = 0;
  uint32_t initrd_addr_max = 0;
  uint32_t kernel_alignment = 0;
  uint8_t relocatable_kernel = 0;
  uint8_t min_alignment = 0;  // log2
  uint16_t xloadflags = 0;
  uint32_t cmdline_size = 0;
  uint32_t hardware_subarch = 0;
  uint64_t hardware_subarch_data = 0;
  uint32_t payload_offset = 0;  // from the start of the protected-mode code
  uint32_t payload_length = 0;
  uint64_t setup_data = 0;
  uint64_t pref_address = 0;
  uint32_t init_size = 0;
  uint32_t handover_offset = 0;
  uint32_t kernel_info_offset = 0;  // protocol 2.15

  // Derived.
  size_t setup_size = 0;     // bytes of real-mode setup code incl. the boot sector
  size_t kernel_offset = 0;  // file offset of the protected-mode code (= setup_size)
  size_t kernel_size = 0;    // bytes of protected-mode code in the file
  // The header bytes from 0x1f1 to its end, as a boot loader copies them into boot_params.
  std::vector<uint8_t> raw;

  bool is_64bit() const { return (xloadflags & kXlfKernel64) != 0; }
  // Boot protocol version as text, e.g. "2.15".
  std::string version_string() const;
};

// One PT_LOAD segment of a vmlinux. Its file bytes are KernelImage::segment_bytes(i).
struct KernelSegment {
  uint64_t paddr = 0;
  uint64_t vaddr = 0;
  uint64_t file_offset = 0;  // into KernelImage::vmlinux
  uint64_t filesz = 0;
  uint64_t memsz = 0;  // >= filesz; the rest is zero-filled (bss)
  uint32_t flags = 0;  // PF_X=1, PF_W=2, PF_R=4
};

enum class KernelFormat { BzImage, Elf };

struct KernelImage {
  KernelFormat format = KernelFormat::Elf;
  std::optional<SetupHeader> setup;  // bzImage only
  KernelCompression compression = KernelCompression::None;
  std::vector<uint8_t> vmlinux;  // the (decompressed) ELF64 image
  std::vector<KernelSegment> segments;
  uint64_t elf_entry = 0;             // e_entry as in the ELF
  uint64_t entry_paddr = 0;           // physical address of e_entry (startup_64 of the vmlinux)
  std::optional<uint64_t> pvh_entry;  // XEN_ELFNOTE_PHYS32_ENTRY, a physical 32-bit entry
  uint64_t lowest_paddr = 0;          // of the PT_LOAD segments
  uint64_t highest_paddr_end = 0;     // paddr + memsz, maximum over the segments

  std::span<const uint8_t> segment_bytes(size_t i) const;
};

// bzImage 64-bit entry (startup_64 of the decompressor) for protected-mode code at load_addr.
inline uint64_t bzimage_entry64(uint64_t load_addr) {
  return load_addr + kBzImageEntry64Offset;
}

struct KernelParseOptions {
  // Decompressed vmlinux larger than this is refused (the cloud kernel's is ~51 MiB).
  size_t max_vmlinux_size = size_t{512} << 20;
};

// Parses and validates a bzImage's setup header. Errors: too short, no "HdrS" signature,
// protocol older than 2.12, not a 64-bit kernel, sizes outside the file.
Result<SetupHeader> parse_setup_header(std::span<const uint8_t> file);

// Parses a vmlinux ELF64 (x86-64, little-endian): PT_LOAD segments, entry points, PVH note.
// The bytes are copied into the result's vmlinux.
Result<KernelImage> parse_vmlinux_elf(std::vector<uint8_t> elf);

// Accepts a bzImage (its payload decompressed on the host) or a plain vmlinux ELF64.
Result<KernelImage> parse_kernel_image(std::span<const uint8_t> file,
                                       const KernelParseOptions& opts = {});

// Reads `path` and parses it as above; errors name the file.
Result<KernelImage> load_kernel_image_file(const std::string& path,
                                           const KernelParseOptions& opts = {});

}  // namespace machina
