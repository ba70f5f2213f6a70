// -smp (see machine-smp.h).
#include "hw/core/machine-smp.h"

namespace machina {

namespace {

uint64_t given(const std::optional<uint64_t>& v) {
  return v.value_or(0);
}

std::string hierarchy(uint64_t sockets, uint64_t dies, uint64_t cores, uint64_t threads) {
  return "sockets (" + std::to_string(sockets) + ") * dies (" + std::to_string(dies) +
         ") * cores (" + std::to_string(cores) + ") * threads (" + std::to_string(threads) + ")";
}

}  // namespace

Result<CpuTopology> machine_parse_smp(const SmpConfig& config, const std::string& machine,
                                      unsigned machine_max_cpus) {
  uint64_t cpus = given(config.cpus), sockets = given(config.sockets), dies = given(config.dies);
  uint64_t cores = given(config.cores), threads = given(config.threads);
  uint64_t maxcpus = given(config.maxcpus);
  if (given(config.clusters) > 1)
    return generic_error("clusters not supported by this machine's CPU topology");
  if (dies == 0) dies = 1;
  // Large values would overflow the products below; the machine's limit refuses them anyway.
  for (uint64_t v : {cpus, sockets, dies, cores, threads, maxcpus}) {
    if (v > 0xffff)
      return generic_error("Invalid SMP CPUs " + std::to_string(v) +
                           ". The max CPUs supported by machine '" + machine + "' is " +
                           std::to_string(machine_max_cpus));
  }
  if (cpus == 0 && maxcpus == 0) {
    sockets = sockets ? sockets : 1;
    cores = cores ? cores : 1;
    threads = threads ? threads : 1;
  } else {
    maxcpus = maxcpus ? maxcpus : cpus;
    // Since QEMU 6.2 cores are preferred over sockets.
    if (cores == 0) {
      sockets = sockets ? sockets : 1;
      threads = threads ? threads : 1;
      cores = maxcpus / (sockets * dies * threads);
    } else if (sockets == 0) {
      threads = threads ? threads : 1;
      sockets = maxcpus / (dies * cores * threads);
    }
    if (threads == 0) threads = maxcpus / (sockets * dies * cores);
  }
  uint64_t product = sockets * dies * cores * threads;
  maxcpus = maxcpus ? maxcpus : product;
  cpus = cpus ? cpus : maxcpus;
  if (product != maxcpus)
    return generic_error("Invalid CPU topology: product of the hierarchy must match maxcpus: " +
                         hierarchy(sockets, dies, cores, threads) + " != maxcpus (" +
                         std::to_string(maxcpus) + ")");
  if (maxcpus < cpus)
    return generic_error("Invalid CPU topology: maxcpus must be equal to or greater than smp: " +
                         hierarchy(sockets, dies, cores, threads) + " == maxcpus (" +
                         std::to_string(maxcpus) + ") < smp_cpus (" + std::to_string(cpus) + ")");
  if (maxcpus > machine_max_cpus)
    return generic_error("Invalid SMP CPUs " + std::to_string(maxcpus) +
                         ". The max CPUs supported by machine '" + machine + "' is " +
                         std::to_string(machine_max_cpus));
  CpuTopology t;
  t.cpus = unsigned(cpus);
  t.sockets = unsigned(sockets);
  t.dies = unsigned(dies);
  t.cores = unsigned(cores);
  t.threads = unsigned(threads);
  t.max_cpus = unsigned(maxcpus);
  return t;
}

}  // namespace machina
