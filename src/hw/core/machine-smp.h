// -smp: the CPU count and topology of a machine (QEMU's hw/core/machine-smp.c), computed from the
// options given as QEMU 7.2 does for current machine types: missing values are filled preferring
// cores over sockets, and the product of the hierarchy must match maxcpus.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "qapi/error.h"

namespace machina {

// What -smp said (absent options unset; 0 counts as absent, as QEMU's deprecated zero values).
struct SmpConfig {
  std::optional<uint64_t> cpus, sockets, dies, clusters, cores, threads, maxcpus;
};

struct CpuTopology {
  unsigned cpus = 1;  // present at start-up
  unsigned sockets = 1, dies = 1, cores = 1, threads = 1;
  unsigned max_cpus = 1;
};

// The topology of a machine `machine` (for messages) that supports up to `machine_max_cpus`
// CPUs and dies (x86 does) but no clusters. Errors carry QEMU's texts.
Result<CpuTopology> machine_parse_smp(const SmpConfig& config, const std::string& machine,
                                      unsigned machine_max_cpus);

}  // namespace machina
