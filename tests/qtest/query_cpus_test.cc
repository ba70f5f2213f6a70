// query-cpus-fast: every CPU with its index, QOM path, topology properties and the host thread
// that runs it (management software pins vCPUs by these thread IDs), as QEMU answers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <optional>
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

// HMP's CPU commands, as QEMU's: `info cpus` marks the monitor's CPU, human-monitor-command's
// cpu-index chooses it, `cpu N` refuses unknown CPUs, `info registers` shows the chosen CPU's
// state (the boot CPU at the 64-bit entry, CPU 1 waiting at the reset vector) and -a all of them.
TEST(HmpCpus, InfoCpusCpuIndexAndInfoRegisters) {
  RawMachine m({"-M", "q35", "-accel", "tcg", "-smp", "2", "-S", "-display", "none", "-kernel",
                std::string(MACHINA_X86_GUEST_DIR) + "/harness.elf", "-append", "pass"},
               1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  json cpus = q->execute("query-cpus-fast")["return"];
  ASSERT_EQ(cpus.size(), 2u);
  std::string t0 = std::to_string(cpus[0]["thread-id"].get<int>());
  std::string t1 = std::to_string(cpus[1]["thread-id"].get<int>());
  auto hmp = [&](const std::string& line, std::optional<int> cpu = std::nullopt) {
    json args = {{"command-line", line}};
    if (cpu) args["cpu-index"] = *cpu;
    return q->execute("human-monitor-command", args);
  };
  EXPECT_EQ(hmp("info cpus")["return"],
            "* CPU #0: thread_id=" + t0 + "\r\n  CPU #1: thread_id=" + t1 + "\r\n");
  EXPECT_EQ(hmp("info cpus", 1)["return"],
            "  CPU #0: thread_id=" + t0 + "\r\n* CPU #1: thread_id=" + t1 + "\r\n");
  json bad = hmp("info cpus", 5);
  EXPECT_EQ(bad["error"]["class"], "GenericError") << bad.dump();
  EXPECT_EQ(bad["error"]["desc"], "Parameter 'cpu-index' expects a CPU number") << bad.dump();
  EXPECT_EQ(hmp("cpu 7")["return"], "invalid CPU index\r\n");
  EXPECT_EQ(hmp("cpu 1")["return"], "");
  std::string bsp = hmp("info registers")["return"];
  std::string ap = hmp("info registers", 1)["return"];
  EXPECT_NE(bsp.find("CS =0010"), std::string::npos) << bsp;
  EXPECT_NE(ap.find("CS =f000 00000000ffff0000"), std::string::npos) << ap;
  EXPECT_NE(ap.find("RIP=000000000000fff0"), std::string::npos) << ap;
  std::string all = hmp("info registers -a")["return"];
  EXPECT_EQ(all.find("\r\nCPU#0\r\n"), 0u) << all;
  EXPECT_NE(all.find("\r\nCPU#1\r\n"), std::string::npos) << all;
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
