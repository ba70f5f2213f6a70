// The x86 CPU topology inside one package (QEMU's include/hw/i386/topology.h): how many dies,
// cores per die and threads per core, and the initial APIC ID layout the SDM describes — from
// the lowest bits up, the thread, core, die and package numbers, each field as wide as its count
// needs (a power of two at least). CPUID (leaves 1, 0xb, 0x80000001, 0x80000008) reports it, and
// the machine gives CPU n the APIC ID x86_apicid_from_index(n).
#pragma once

#include <cstdint>

namespace machina::x86 {

struct X86CpuTopology {
  unsigned dies = 1;     // per package
  unsigned cores = 1;    // per die
  unsigned threads = 1;  // per core

  unsigned logical_per_package() const { return dies * cores * threads; }
};

// Bits needed to number `count` items (0 for one).
constexpr unsigned x86_topology_bits(unsigned count) {
  unsigned b = 0;
  while ((1u << b) < count) b++;
  return b;
}

constexpr unsigned x86_apicid_core_offset(const X86CpuTopology& t) {
  return x86_topology_bits(t.threads);
}
constexpr unsigned x86_apicid_die_offset(const X86CpuTopology& t) {
  return x86_apicid_core_offset(t) + x86_topology_bits(t.cores);
}
constexpr unsigned x86_apicid_pkg_offset(const X86CpuTopology& t) {
  return x86_apicid_die_offset(t) + x86_topology_bits(t.dies);
}

// Where CPU `index` (0-based, threads first) sits, and its initial APIC ID.
struct X86CpuPosition {
  unsigned socket, die, core, thread;
};
constexpr X86CpuPosition x86_position_from_index(const X86CpuTopology& t, unsigned index) {
  return {index / (t.threads * t.cores * t.dies), (index / (t.threads * t.cores)) % t.dies,
          (index / t.threads) % t.cores, index % t.threads};
}
constexpr uint32_t x86_apicid_from_index(const X86CpuTopology& t, unsigned index) {
  X86CpuPosition p = x86_position_from_index(t, index);
  return (p.socket << x86_apicid_pkg_offset(t)) | (p.die << x86_apicid_die_offset(t)) |
         (p.core << x86_apicid_core_offset(t)) | p.thread;
}

}  // namespace machina::x86
