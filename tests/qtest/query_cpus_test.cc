// query-cpus-fast: every CPU with its index, QOM path, topology properties and the host thread
// that runs it (management software pins vCPUs by these thread IDs), as QEMU answers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "qtest/harness.h"

namespace machina::qtest {
namespace {

bool task_exists(pid_t pid, int tid) {
  return access(("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid)).c_str(), F_OK) ==
         0;
}

TEST(QueryCpusFast, ListsEveryCpuWithItsOwnVcpuThread) {
  RawMachine m({"-M", "q35", "-accel", "tcg", "-smp", "3", "-S", "-display", "none"}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  json r = q->execute("query-cpus-fast");
  ASSERT_TRUE(r.contains("return")) << r.dump();
  const json& cpus = r["return"];
  ASSERT_EQ(cpus.size(), 3u) << r.dump();
  std::set<int> threads;
  for (int i = 0; i < 3; i++) {
    const json& c = cpus[i];
    EXPECT_EQ(c["cpu-index"], i) << c.dump();
    EXPECT_EQ(c["target"], "x86_64") << c.dump();
    // As QEMU 7.2: -smp 3 is one socket of three cores.
    EXPECT_EQ(c["props"], (json{{"socket-id", 0}, {"core-id", i}, {"thread-id", 0}})) << c.dump();
    // The QOM path is the CPU object's.
    json t = q->execute("qom-get", {{"path", c["qom-path"]}, {"property", "type"}});
    EXPECT_EQ(t["return"], "qemu64-x86_64-cpu") << t.dump();
    int tid = c["thread-id"].get<int>();
    EXPECT_TRUE(task_exists(m.pid(), tid)) << tid;
    EXPECT_NE(tid, m.pid()) << "a vCPU thread, not the main thread";
    threads.insert(tid);
  }
  EXPECT_EQ(threads.size(), 3u) << "one thread per vCPU";
  q->execute("quit");
  EXPECT_TRUE(m.wait_exit().ok());
}

// Each CPU's place in the topology -smp gives, as QEMU 7.2 reports it (die-id only with dies).
TEST(QueryCpusFast, PropsFollowTheSmpTopology) {
  struct Case {
    const char* smp;
    std::vector<json> props;
  };
  auto p = [](int s, int c, int t) {
    return json{{"socket-id", s}, {"core-id", c}, {"thread-id", t}};
  };
  json with_die = p(0, 1, 1);
  with_die["die-id"] = 1;
  const Case cases[] = {
      {"8,sockets=2,threads=2",
       {p(0, 0, 0), p(0, 0, 1), p(0, 1, 0), p(0, 1, 1), p(1, 0, 0), p(1, 0, 1), p(1, 1, 0),
        p(1, 1, 1)}},
      {"sockets=2,cores=3",
       {p(0, 0, 0), p(0, 1, 0), p(0, 2, 0), p(1, 0, 0), p(1, 1, 0), p(1, 2, 0)}},
      {"2,maxcpus=4", {p(0, 0, 0), p(0, 1, 0)}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.smp);
    RawMachine m({"-M", "q35", "-accel", "qtest", "-smp", c.smp, "-display", "none"}, 1);
    ASSERT_TRUE(m.ok()) << m.error();
    auto q = m.connect(0);
    ASSERT_TRUE(q);
    json cpus = q->execute("query-cpus-fast")["return"];
    ASSERT_EQ(cpus.size(), c.props.size()) << cpus.dump();
    for (size_t i = 0; i < cpus.size(); i++) {
      EXPECT_EQ(cpus[i]["cpu-index"], i);
      EXPECT_EQ(cpus[i]["props"], c.props[i]) << i;
    }
    q->execute("quit");
    EXPECT_TRUE(m.wait_exit().ok());
  }
  RawMachine m(
      {"-M", "q35", "-accel", "qtest", "-smp", "8,dies=2,cores=2,threads=2", "-display", "none"},
      1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->execute("query-cpus-fast")["return"][7]["props"], with_die);
  q->execute("quit");
  EXPECT_TRUE(m.wait_exit().ok());
}

TEST(QueryCpusFast, WithoutGuestCodeTheMainThreadAnswers) {
  RawMachine m({"-M", "q35", "-accel", "qtest", "-display", "none"}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  json r = q->execute("query-cpus-fast");
  ASSERT_EQ(r["return"].size(), 1u) << r.dump();
  EXPECT_EQ(r["return"][0]["thread-id"], m.pid()) << r.dump();
  q->execute("quit");
  EXPECT_TRUE(m.wait_exit().ok());
}

}  // namespace
}  // namespace machina::qtest
