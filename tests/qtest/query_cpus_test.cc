// query-cpus-fast: every CPU with its index, QOM path, topology properties and the host thread
// that runs it (management software pins vCPUs by these thread IDs), as QEMU answers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>
#include <string>

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
    EXPECT_EQ(c["props"]["socket-id"], i) << c.dump();
    EXPECT_EQ(c["props"]["core-id"], 0) << c.dump();
    EXPECT_EQ(c["props"]["thread-id"], 0) << c.dump();
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
