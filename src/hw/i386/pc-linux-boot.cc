// Direct Linux boot on a PC.
#include "hw/i386/pc-linux-boot.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "system/runstate.h"

namespace machina {

Status PcLinuxBoot::init(const MachineParams& params, std::vector<x86::X86Cpu*> cpus,
                         std::vector<E820Entry> e820, uint64_t below_4g, uint64_t acpi_rsdp) {
  cpus_ = std::move(cpus);
  if (params.kernel.empty()) {
    if (!params.initrd.empty()) return generic_error("-initrd cannot be used without -kernel");
    if (!params.append.empty()) return generic_error("-append cannot be used without -kernel");
    // There is no firmware to run from the reset vector: without a kernel the CPUs wait,
    // halted with interrupts off (the machine still serves QMP and its devices).
    auto park = [this] {
      for (x86::X86Cpu* cpu : cpus_) cpu->state().halted = true;
    };
    park();
    qemu_register_reset(park);
    return Status::Ok();
  }
  cfg_.kernel = params.kernel;
  cfg_.initrd = params.initrd;
  cfg_.cmdline = params.append;
  cfg_.e820 = std::move(e820);
  cfg_.below_4g_ram = below_4g;
  cfg_.acpi_rsdp_addr = acpi_rsdp;
  if (Status s = boot(); !s.ok()) return s;
  qemu_register_reset([this] {
    if (Status s = boot(); !s.ok())
      std::fprintf(stderr, "machina: reboot failed: %s\n", s.message().c_str());
  });
  return Status::Ok();
}

Status PcLinuxBoot::boot() {
  for (x86::X86Cpu* cpu : cpus_) cpu->reset_state(false);
  auto st = x86_load_linux(cfg_);
  if (!st.ok()) return st.error();
  state_ = st.value();
  const DirectBootState& b = state_;
  cpus_.front()->enter_long_mode(b.cr3, b.gdt_base, b.gdt_limit, b.entry, b.zero_page);
  return Status::Ok();
}

namespace {

Result<std::vector<uint8_t>> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return generic_error("could not read '" + path + "'");
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)),
                              std::istreambuf_iterator<char>());
}

}  // namespace

Status PcLinuxBoot::add_fw_cfg_items(FwCfg& fw) const {
  if (cfg_.kernel.empty()) return Status::Ok();
  // A bzImage splits into the real-mode setup (loaded at 0x10000 by a legacy boot loader) and the
  // protected-mode kernel (at 1 MiB); a plain ELF is all kernel. Only the small setup part is
  // read now: the kernel and initrd data are read again only if firmware asks for them.
  std::error_code ec;
  size_t file_size = std::filesystem::file_size(cfg_.kernel, ec);
  size_t setup = state_.setup_size;
  if (ec || file_size < setup) return generic_error("could not read '" + cfg_.kernel + "'");
  FwCfgLinuxBoot b;
  if (setup) {
    std::ifstream f(cfg_.kernel, std::ios::binary);
    b.setup.resize(setup);
    if (!f.read(reinterpret_cast<char*>(b.setup.data()), long(setup)))
      return generic_error("could not read '" + cfg_.kernel + "'");
    b.setup_addr = 0x10000;
  }
  b.kernel_addr = 0x100000;
  b.kernel_size = uint32_t(file_size - setup);
  b.load_kernel = [path = cfg_.kernel, setup] {
    auto k = read_file(path);
    if (!k.ok() || k.value().size() < setup) return std::vector<uint8_t>();
    return std::vector<uint8_t>(k.value().begin() + long(setup), k.value().end());
  };
  if (!cfg_.initrd.empty()) {
    b.initrd_size = uint32_t(std::filesystem::file_size(cfg_.initrd, ec));
    if (ec) return generic_error("could not read '" + cfg_.initrd + "'");
    b.initrd_addr = uint32_t(state_.initrd_addr);
    b.load_initrd = [path = cfg_.initrd] {
      auto i = read_file(path);
      return i.ok() ? std::move(i.value()) : std::vector<uint8_t>();
    };
  }
  b.cmdline_addr = uint32_t(direct_boot::kCmdline);
  b.cmdline = cfg_.cmdline;
  fw_cfg_add_linux_boot(fw, b);
  return Status::Ok();
}

}  // namespace machina
