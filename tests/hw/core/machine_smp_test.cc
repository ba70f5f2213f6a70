// -smp: the topology and the errors QEMU 7.2 gives for the same options (checked against
// qemu-system-x86_64 -M q35 -smp ... and query-cpus-fast).
#include "hw/core/machine-smp.h"

#include <gtest/gtest.h>

namespace machina {
namespace {

struct Expect {
  unsigned cpus, sockets, dies, cores, threads, max_cpus;
};

void expect_topology(const SmpConfig& c, Expect e) {
  auto t = machine_parse_smp(c, "q35", 288);
  ASSERT_TRUE(t.ok()) << t.message();
  EXPECT_EQ(t->cpus, e.cpus);
  EXPECT_EQ(t->sockets, e.sockets);
  EXPECT_EQ(t->dies, e.dies);
  EXPECT_EQ(t->cores, e.cores);
  EXPECT_EQ(t->threads, e.threads);
  EXPECT_EQ(t->max_cpus, e.max_cpus);
}

std::string error_of(const SmpConfig& c, unsigned machine_max = 288) {
  auto t = machine_parse_smp(c, "q35", machine_max);
  return t.ok() ? "(ok)" : t.message();
}

TEST(MachineSmp, NothingGivenIsOneCpu) {
  expect_topology({}, {1, 1, 1, 1, 1, 1});
}

TEST(MachineSmp, CoresArePreferredOverSockets) {
  expect_topology({.cpus = 3}, {3, 1, 1, 3, 1, 3});
  expect_topology({.cpus = 8, .sockets = 2, .threads = 2}, {8, 2, 1, 2, 2, 8});
  expect_topology({.cpus = 8, .dies = 2, .cores = 2, .threads = 2}, {8, 1, 2, 2, 2, 8});
  expect_topology({.cpus = 2, .maxcpus = 4}, {2, 1, 1, 4, 1, 4});
}

TEST(MachineSmp, CountFromTheHierarchy) {
  expect_topology({.sockets = 2, .cores = 3}, {6, 2, 1, 3, 1, 6});
  expect_topology({.cpus = 4, .cores = 2}, {4, 2, 1, 2, 1, 4});                // sockets computed
  expect_topology({.cpus = 4, .sockets = 1, .cores = 2}, {4, 1, 1, 2, 2, 4});  // threads
}

TEST(MachineSmp, QemusErrors) {
  EXPECT_EQ(error_of({.cpus = 4, .cores = 3}),
            "Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (1) * "
            "dies (1) * cores (3) * threads (1) != maxcpus (4)");
  EXPECT_EQ(error_of({.cpus = 3, .maxcpus = 2}),
            "Invalid CPU topology: maxcpus must be equal to or greater than smp: sockets (1) * "
            "dies (1) * cores (2) * threads (1) == maxcpus (2) < smp_cpus (3)");
  EXPECT_EQ(error_of({.cpus = 2}, 1),
            "Invalid SMP CPUs 2. The max CPUs supported by machine 'q35' is 1");
  EXPECT_EQ(error_of({.cpus = 1, .clusters = 2}),
            "clusters not supported by this machine's CPU topology");
  EXPECT_EQ(error_of({.cpus = uint64_t{1} << 40}),
            "Invalid SMP CPUs 1099511627776. The max CPUs supported by machine 'q35' is 288");
}

}  // namespace
}  // namespace machina
