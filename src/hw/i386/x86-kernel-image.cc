#include "hw/i386/x86-kernel-image.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace machina {
namespace {

uint16_t le16(std::span<const uint8_t> d, size_t off) {
  return uint16_t(d[off] | d[off + 1] << 8);
}
uint32_t le32(std::span<const uint8_t> d, size_t off) {
  return uint32_t(d[off]) | uint32_t(d[off + 1]) << 8 | uint32_t(d[off + 2]) << 16 |
         uint32_t(d[off + 3]) << 24;
}
uint64_t le64(std::span<const uint8_t> d, size_t off) {
  return uint64_t(le32(d, off)) | uint64_t(le32(d, off + 4)) << 32;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

bool is_elf(std::span<const uint8_t> d) {
  return d.size() >= 4 && d[0] == 0x7f && d[1] == 'E' && d[2] == 'L' && d[3] == 'F';
}

// [off, off + len) lies inside a buffer of `size` bytes (no overflow).
bool in_bounds(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

// ELF64 constants (System V gABI, x86-64 psABI).
constexpr size_t kElf64EhdrSize = 64;
constexpr size_t kElf64PhdrSize = 56;
constexpr uint16_t kEtExec = 2;
constexpr uint16_t kEmX86_64 = 62;
constexpr uint32_t kPtLoad = 1;
constexpr uint32_t kPtNote = 4;
constexpr uint32_t kXenElfnotePhys32Entry = 18;

// Looks for the PVH entry note in a PT_NOTE segment; malformed notes end the scan.
std::optional<uint64_t> find_pvh_entry(std::span<const uint8_t> notes) {
  size_t pos = 0;
  while (notes.size() - pos >= 12) {
    uint32_t namesz = le32(notes, pos);
    uint32_t descsz = le32(notes, pos + 4);
    uint32_t type = le32(notes, pos + 8);
    pos += 12;
    uint64_t name_padded = (uint64_t(namesz) + 3) & ~uint64_t{3};
    uint64_t desc_padded = (uint64_t(descsz) + 3) & ~uint64_t{3};
    if (!in_bounds(pos, name_padded, notes.size())) return std::nullopt;
    size_t name_at = pos;
    pos += name_padded;
    if (!in_bounds(pos, desc_padded, notes.size())) return std::nullopt;
    size_t desc_at = pos;
    pos += desc_padded;
    bool xen = namesz == 4 && std::memcmp(notes.data() + name_at, "Xen", 4) == 0;
    if (xen && type == kXenElfnotePhys32Entry) {
      if (descsz == 4) return le32(notes, desc_at);
      if (descsz == 8) return le64(notes, desc_at);
    }
  }
  return std::nullopt;
}

}  // namespace

std::string SetupHeader::version_string() const {
  return std::to_string(version >> 8) + "." + std::to_string(version & 0xff);
}

std::span<const uint8_t> KernelImage::segment_bytes(size_t i) const {
  const KernelSegment& s = segments.at(i);
  return std::span<const uint8_t>(vmlinux).subspan(s.file_offset, s.filesz);
}

Result<SetupHeader> parse_setup_header(std::span<const uint8_t> d) {
  if (d.size() < 0x206) {
    return generic_error("not a bzImage: the file is too short for a setup header (" +
                         std::to_string(d.size()) + " bytes)");
  }
  SetupHeader h;
  h.header = le32(d, 0x202);
  if (h.header != 0x53726448) {  // "HdrS"
    return generic_error("not a bzImage: no 'HdrS' signature at offset 0x202");
  }
  h.boot_flag = le16(d, 0x1fe);
  if (h.boot_flag != 0xaa55) {
    return generic_error("not a bzImage: boot_flag is " + hex(h.boot_flag) + ", not 0xaa55");
  }
  h.version = le16(d, 0x206);
  if (h.version < kMinBootProtocol) {
    return generic_error("kernel boot protocol " + h.version_string() +
                         " is too old (2.12 or later is needed)");
  }
  size_t end = 0x202 + size_t(d[0x201]);
  end = std::clamp(end, size_t{0x268}, kSetupHeaderMaxEnd);
  if (d.size() < end) {
    return generic_error("truncated bzImage: the setup header ends at " + hex(end) +
                         " but the file has " + std::to_string(d.size()) + " bytes");
  }
  h.setup_sects = d[0x1f1];
  h.root_flags = le16(d, 0x1f2);
  h.syssize = le32(d, 0x1f4);
  h.vid_mode = le16(d, 0x1fa);
  h.kernel_version = le16(d, 0x20e);
  h.type_of_loader = d[0x210];
  h.loadflags = d[0x211];
  h.code32_start = le32(d, 0x214);
  h.ramdisk_image = le32(d, 0x218);
  h.ramdisk_size = le32(d, 0x21c);
  h.heap_end_ptr = le16(d, 0x224);
  h.cmd_line_ptr = le32(d, 0x228);
  h.initrd_addr_max = le32(d, 0x22c);
  h.kernel_alignment = le32(d, 0x230);
  h.relocatable_kernel = d[0x234];
  h.min_alignment = d[0x235];
  h.xloadflags = le16(d, 0x236);
  h.cmdline_size = le32(d, 0x238);
  h.hardware_subarch = le32(d, 0x23c);
  h.hardware_subarch_data = le64(d, 0x240);
  h.payload_offset = le32(d, 0x248);
  h.payload_length = le32(d, 0x24c);
  h.setup_data = le64(d, 0x250);
  h.pref_address = le64(d, 0x258);
  h.init_size = le32(d, 0x260);
  h.handover_offset = le32(d, 0x264);
  if (end >= 0x26c) h.kernel_info_offset = le32(d, 0x268);
  h.raw.assign(d.begin() + kSetupHeaderStart, d.begin() + end);

  size_t sects = h.setup_sects == 0 ? 4 : h.setup_sects;
  h.setup_size = (sects + 1) * 512;
  h.kernel_offset = h.setup_size;
  if (h.setup_size >= d.size()) {
    return generic_error("truncated bzImage: the setup code needs " + std::to_string(h.setup_size) +
                         " bytes but the file has " + std::to_string(d.size()));
  }
  size_t avail = d.size() - h.setup_size;
  uint64_t declared = uint64_t(h.syssize) * 16;
  // syssize is rounded up to 16 bytes; allow that slack at the end of the file.
  if (declared > uint64_t(avail) + 15) {
    return generic_error("truncated bzImage: the header declares " + std::to_string(declared) +
                         " bytes of kernel code but the file has " + std::to_string(avail));
  }
  h.kernel_size = size_t(std::min<uint64_t>(declared, avail));
  if (h.payload_length == 0) {
    return generic_error("invalid bzImage: the setup header gives no payload (length 0)");
  }
  if (!in_bounds(h.payload_offset, h.payload_length, h.kernel_size)) {
    return generic_error("truncated bzImage: the payload (offset " + hex(h.payload_offset) + ", " +
                         std::to_string(h.payload_length) +
                         " bytes) extends past the kernel code (" + std::to_string(h.kernel_size) +
                         " bytes)");
  }
  return h;
}

Result<KernelImage> parse_vmlinux_elf(std::vector<uint8_t> elf) {
  std::span<const uint8_t> d(elf);
  if (!is_elf(d)) return generic_error("not an ELF image: no '\\x7fELF' magic");
  if (d.size() < kElf64EhdrSize) {
    return generic_error("truncated ELF image: " + std::to_string(d.size()) +
                         " bytes is too short for an ELF64 header");
  }
  if (d[4] != 2)
    return generic_error("unsupported ELF image: not ELF64 (class " + std::to_string(d[4]) + ")");
  if (d[5] != 1) return generic_error("unsupported ELF image: not little-endian");
  uint16_t type = le16(d, 0x10);
  uint16_t machine = le16(d, 0x12);
  if (machine != kEmX86_64) {
    return generic_error("unsupported ELF image: machine " + std::to_string(machine) +
                         " is not x86-64");
  }
  if (type != kEtExec) {
    return generic_error("unsupported ELF image: type " + std::to_string(type) +
                         " is not an executable");
  }
  KernelImage img;
  img.elf_entry = le64(d, 0x18);
  uint64_t phoff = le64(d, 0x20);
  uint16_t phentsize = le16(d, 0x36);
  uint16_t phnum = le16(d, 0x38);
  if (phnum == 0) return generic_error("invalid ELF image: no program headers");
  if (phentsize < kElf64PhdrSize) {
    return generic_error("invalid ELF image: program header size " + std::to_string(phentsize) +
                         " is too small");
  }
  if (!in_bounds(phoff, uint64_t(phnum) * phentsize, d.size())) {
    return generic_error("truncated ELF image: the program headers (" + std::to_string(phnum) +
                         " at " + hex(phoff) + ") extend past the end of the file");
  }
  bool any = false;
  for (uint16_t i = 0; i < phnum; ++i) {
    size_t ph = size_t(phoff) + size_t(i) * phentsize;
    uint32_t p_type = le32(d, ph);
    KernelSegment s;
    s.flags = le32(d, ph + 4);
    s.file_offset = le64(d, ph + 8);
    s.vaddr = le64(d, ph + 0x10);
    s.paddr = le64(d, ph + 0x18);
    s.filesz = le64(d, ph + 0x20);
    s.memsz = le64(d, ph + 0x28);
    if (p_type == kPtNote) {
      if (in_bounds(s.file_offset, s.filesz, d.size()) && !img.pvh_entry) {
        img.pvh_entry = find_pvh_entry(d.subspan(s.file_offset, s.filesz));
      }
      continue;
    }
    if (p_type != kPtLoad) continue;
    std::string which = "segment " + std::to_string(i);
    if (s.filesz > s.memsz) {
      return generic_error("invalid ELF image: " + which + " has filesz > memsz");
    }
    if (!in_bounds(s.file_offset, s.filesz, d.size())) {
      return generic_error("truncated ELF image: " + which + " (" + std::to_string(s.filesz) +
                           " bytes at " + hex(s.file_offset) + ") extends past the end");
    }
    if (s.paddr + s.memsz < s.paddr || s.vaddr + s.memsz < s.vaddr) {
      return generic_error("invalid ELF image: " + which + " wraps around the address space");
    }
    if (s.memsz != 0) {
      if (!any || s.paddr < img.lowest_paddr) img.lowest_paddr = s.paddr;
      img.highest_paddr_end = std::max(img.highest_paddr_end, s.paddr + s.memsz);
      any = true;
    }
    img.segments.push_back(s);
  }
  if (!any) return generic_error("invalid ELF image: no loadable (PT_LOAD) segments");
  // Linux's vmlinux has a physical e_entry (phys_startup_64); others may give a virtual one.
  bool found = false;
  for (const KernelSegment& s : img.segments) {
    if (img.elf_entry >= s.paddr && img.elf_entry - s.paddr < s.memsz) {
      img.entry_paddr = img.elf_entry;
      found = true;
      break;
    }
  }
  for (const KernelSegment& s : img.segments) {
    if (found) break;
    if (img.elf_entry >= s.vaddr && img.elf_entry - s.vaddr < s.memsz) {
      img.entry_paddr = s.paddr + (img.elf_entry - s.vaddr);
      found = true;
    }
  }
  if (!found) {
    return generic_error("invalid ELF image: the entry point " + hex(img.elf_entry) +
                         " is not inside a loadable segment");
  }
  img.format = KernelFormat::Elf;
  img.vmlinux = std::move(elf);
  return img;
}

Result<KernelImage> parse_kernel_image(std::span<const uint8_t> file,
                                       const KernelParseOptions& opts) {
  if (file.empty()) return generic_error("the kernel image is empty");
  if (is_elf(file)) {
    if (file.size() > opts.max_vmlinux_size) {
      return generic_error("the ELF kernel is larger than the limit of " +
                           std::to_string(opts.max_vmlinux_size) + " bytes");
    }
    return parse_vmlinux_elf(std::vector<uint8_t>(file.begin(), file.end()));
  }
  auto hdr = parse_setup_header(file);
  if (!hdr) {
    if (file.size() >= 0x206 && le32(file, 0x202) != 0x53726448) {
      return generic_error("not a Linux kernel: neither a bzImage ('HdrS' header) nor an ELF");
    }
    return hdr.error();
  }
  if (!hdr->is_64bit()) {
    return generic_error(
        "the kernel does not support the 64-bit boot protocol "
        "(XLF_KERNEL_64 is not set in xloadflags)");
  }
  auto payload = file.subspan(hdr->kernel_offset + hdr->payload_offset, hdr->payload_length);
  KernelCompression c = detect_kernel_compression(payload);
  auto vmlinux = decompress_kernel_payload(c, payload, opts.max_vmlinux_size);
  if (!vmlinux) return vmlinux.error();
  if (!is_elf(*vmlinux)) {
    return generic_error(std::string("corrupt bzImage: the ") + kernel_compression_name(c) +
                         " payload does not decompress to an ELF image");
  }
  auto img = parse_vmlinux_elf(std::move(*vmlinux));
  if (!img) return generic_error("invalid vmlinux inside the bzImage: " + img.message());
  img->format = KernelFormat::BzImage;
  img->compression = c;
  img->setup = std::move(*hdr);
  return img;
}

Result<KernelImage> load_kernel_image_file(const std::string& path,
                                           const KernelParseOptions& opts) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    return generic_error("could not open kernel file '" + path + "': " + std::strerror(errno));
  }
  std::vector<uint8_t> data;
  if (std::fseek(f.get(), 0, SEEK_END) == 0) {
    long n = std::ftell(f.get());
    if (n > 0 && size_t(n) <= opts.max_vmlinux_size) data.reserve(size_t(n) + 1);
    std::rewind(f.get());
  }
  uint8_t buf[1 << 16];
  for (;;) {
    size_t n = std::fread(buf, 1, sizeof buf, f.get());
    data.insert(data.end(), buf, buf + n);
    if (data.size() > opts.max_vmlinux_size) {
      return generic_error("kernel file '" + path + "' is too large");
    }
    if (n < sizeof buf) break;
  }
  if (std::ferror(f.get())) {
    return generic_error("could not read kernel file '" + path + "': " + std::strerror(errno));
  }
  auto img = parse_kernel_image(data, opts);
  if (!img) return generic_error("kernel file '" + path + "': " + img.message());
  return img;
}

}  // namespace machina
