// Direct Linux boot: loading and the 64-bit entry state.
#include "hw/i386/x86-direct-boot.h"

#include <fstream>
#include <iterator>

#include "hw/i386/x86-kernel-image.h"
#include "system/memory.h"

namespace machina {

namespace {

Status write_guest(uint64_t addr, const void* data, size_t len, const std::string& what) {
  if (Status s = dma_write(address_space_memory(), addr, data, len); !s.ok())
    return generic_error(what + " does not fit in guest RAM: " + s.message());
  return Status::Ok();
}

void put_le(std::vector<uint8_t>& b, size_t off, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; i++) b[off + i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

std::vector<E820Entry> pc_e820_map(uint64_t below_4g, uint64_t above_4g) {
  std::vector<E820Entry> map;
  map.push_back({0, 0x9fc00, uint32_t(E820Type::Ram)});
  map.push_back({0x9fc00, 0x400, uint32_t(E820Type::Reserved)});
  map.push_back({0xf0000, 0x10000, uint32_t(E820Type::Reserved)});
  if (below_4g > 0x100000) map.push_back({0x100000, below_4g - 0x100000, uint32_t(E820Type::Ram)});
  if (above_4g) map.push_back({uint64_t{1} << 32, above_4g, uint32_t(E820Type::Ram)});
  return map;
}

Result<DirectBootState> x86_load_linux(const DirectBootConfig& cfg) {
  using namespace direct_boot;
  auto image = load_kernel_image_file(cfg.kernel);
  if (!image.ok()) return generic_error(image.message());
  const KernelImage& k = image.value();

  // The vmlinux segments at their physical addresses (bss zeroed).
  for (size_t i = 0; i < k.segments.size(); i++) {
    const KernelSegment& seg = k.segments[i];
    if (seg.paddr + seg.memsz > cfg.below_4g_ram)
      return generic_error("kernel '" + cfg.kernel + "' does not fit in guest RAM");
    auto bytes = k.segment_bytes(i);
    if (Status s = write_guest(seg.paddr, bytes.data(), bytes.size(), "kernel"); !s.ok()) return s;
    if (seg.memsz > seg.filesz) {
      std::vector<uint8_t> zero(seg.memsz - seg.filesz, 0);
      if (Status s = write_guest(seg.paddr + seg.filesz, zero.data(), zero.size(), "kernel");
          !s.ok())
        return s;
    }
  }

  // The initrd at the top of RAM below 4 GiB (and below initrd_addr_max), page aligned.
  BootParamsConfig bp;
  bp.e820 = cfg.e820;
  bp.acpi_rsdp_addr = cfg.acpi_rsdp_addr;
  if (!cfg.initrd.empty()) {
    std::ifstream f(cfg.initrd, std::ios::binary);
    if (!f) return generic_error("could not load initrd '" + cfg.initrd + "'");
    std::vector<uint8_t> initrd((std::istreambuf_iterator<char>(f)),
                                std::istreambuf_iterator<char>());
    uint64_t top = cfg.below_4g_ram;
    if (k.setup && k.setup->initrd_addr_max)
      top = std::min<uint64_t>(top, k.setup->initrd_addr_max + 1ull);
    uint64_t addr = (top - initrd.size()) & ~uint64_t{0xfff};
    if (initrd.size() > top || addr < k.highest_paddr_end)
      return generic_error("initrd '" + cfg.initrd + "' is too large for guest RAM");
    if (Status s = write_guest(addr, initrd.data(), initrd.size(), "initrd"); !s.ok()) return s;
    bp.initrd_addr = addr;
    bp.initrd_size = initrd.size();
  }

  // Command line.
  if (cfg.cmdline.size() + 1 > kCmdlineMax) return generic_error("kernel command line too long");
  // The kernel's own limit (setup header cmdline_size, without the NUL): Linux does not boot
  // with a longer one, so it is refused here rather than failing silently in the guest.
  if (k.setup && k.setup->cmdline_size && cfg.cmdline.size() > k.setup->cmdline_size) {
    return generic_error("kernel command line too long (" + std::to_string(cfg.cmdline.size()) +
                         " bytes; this kernel takes at most " +
                         std::to_string(k.setup->cmdline_size) + ")");
  }
  if (Status s = write_guest(kCmdline, cfg.cmdline.c_str(), cfg.cmdline.size() + 1, "cmdline");
      !s.ok())
    return s;
  bp.cmdline_addr = kCmdline;

  auto zp = build_boot_params(k.setup ? &*k.setup : nullptr, bp);
  if (!zp.ok()) return generic_error(zp.message());
  if (Status s = write_guest(kZeroPage, zp.value().data(), zp.value().size(), "zero page"); !s.ok())
    return s;

  DirectBootState st;
  if (Status s = x86_write_long_mode_structures(&st); !s.ok()) return s;
  st.entry = k.entry_paddr;  // startup_64 of the vmlinux (a bzImage is decompressed on the host)
  st.zero_page = kZeroPage;
  st.initrd_addr = bp.initrd_addr;
  st.setup_size = k.setup ? k.setup->setup_size : 0;
  return st;
}

Status x86_write_long_mode_structures(DirectBootState* st) {
  using namespace direct_boot;
  // GDT: null, null, __BOOT_CS = 64-bit code, __BOOT_DS = data (flat, DPL 0, accessed).
  const uint64_t gdt[4] = {0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull};
  if (Status s = write_guest(kGdt, gdt, sizeof gdt, "GDT"); !s.ok()) return s;

  // Identity map of the first 4 GiB with 2 MiB pages: PML4 -> PDPT -> 4 page directories.
  std::vector<uint8_t> pt(6 * 4096, 0);
  const uint64_t pdpt = kPml4 + 0x1000, pd = kPml4 + 0x2000;
  put_le(pt, 0, pdpt | 0x3, 8);  // present, writable
  for (unsigned i = 0; i < 4; i++) put_le(pt, 0x1000 + i * 8, (pd + i * 0x1000) | 0x3, 8);
  for (unsigned i = 0; i < 4 * 512; i++)
    put_le(pt, 0x2000 + i * 8, (uint64_t{i} << 21) | 0x83, 8);  // present, writable, 2 MiB
  if (Status s = write_guest(kPml4, pt.data(), pt.size(), "page tables"); !s.ok()) return s;

  st->cr3 = kPml4;
  st->gdt_base = kGdt;
  st->gdt_limit = sizeof gdt - 1;
  return Status::Ok();
}

}  // namespace machina
