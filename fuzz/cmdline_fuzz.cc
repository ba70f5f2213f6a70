// libFuzzer target: the input split into argv words (on NUL, or on spaces when it has no NUL),
// parsed as a command line (with its -smp topology), and each word also parsed as QemuOpts, keyval
// and chardev shorthand.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hw/core/machine-smp.h"
#include "system/cmdline.h"
#include "target/i386/topology.h"
#include "util/qemu-option.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  char sep = in.find('\0') != std::string::npos ? '\0' : ' ';
  std::vector<std::string> args;
  size_t start = 0;
  while (start <= in.size()) {
    size_t p = in.find(sep, start);
    if (p == std::string::npos) p = in.size();
    args.push_back(in.substr(start, p - start));
    start = p + 1;
  }
  auto cfg = machina::parse_cmdline(args, "machina");
  if (cfg.ok()) {
    for (const auto& d : cfg->devices) (void)d.opts.to_string();
    // -smp as the q35 machine takes it, and the APIC IDs of its topology.
    auto smp = machina::machine_parse_smp(cfg->smp, "q35", 288);
    if (smp.ok()) {
      const machina::x86::X86CpuTopology topo{smp->dies, smp->cores, smp->threads};
      for (unsigned i = 0; i < smp->max_cpus; i++)
        (void)machina::x86::x86_apicid_from_index(topo, i);
    }
  }
  for (const auto& a : args) {
    (void)machina::qemu_opts_parse(machina::chardev_opts_spec(), a);
    (void)machina::qemu_opts_parse(machina::device_opts_spec(), a);
    (void)machina::keyval_parse(a, "type");
    (void)machina::parse_chardev_compat("fz", a, true);
  }
  return 0;
}
