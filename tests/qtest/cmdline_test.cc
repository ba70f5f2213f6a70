// The command line of the real binary: help texts, QEMU-style errors, exit statuses.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "qtest/harness.h"

namespace machina::qtest {
namespace {

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

bool has_line(const std::string& text, const std::regex& re) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (std::regex_search(line, re)) return true;
  }
  return false;
}

#define EXPECT_EXIT_STATUS(r, n)                                                     \
  EXPECT_TRUE((r).status.exited && (r).status.code == (n))                           \
      << "expected exit status " << (n) << ", got " << (r).status.describe() << "\n" \
      << "stdout:\n"                                                                 \
      << (r).out << "\nstderr:\n"                                                    \
      << (r).err

TEST(CmdlineTest, Version) {
  auto r = run_machina({"-version"});
  EXPECT_EXIT_STATUS(r, 0);
  EXPECT_NE(r.out.find("version"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("machina"), std::string::npos) << r.out;
}

TEST(CmdlineTest, DoubleDashFormWorks) {
  auto a = run_machina({"-version"});
  auto b = run_machina({"--version"});
  EXPECT_EXIT_STATUS(b, 0);
  EXPECT_EQ(a.out, b.out);
}

TEST(CmdlineTest, Help) {
  auto r = run_machina({"-h"});
  EXPECT_EXIT_STATUS(r, 0);
  EXPECT_EQ(r.out.rfind("usage: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("-machine"), std::string::npos);
  EXPECT_NE(r.out.find("-device"), std::string::npos);
  auto r2 = run_machina({"-help"});
  EXPECT_EXIT_STATUS(r2, 0);
  EXPECT_EQ(r.out, r2.out);
}

TEST(CmdlineTest, MachineHelpListsNone) {
  auto r = run_machina({"-machine", "help"});
  EXPECT_EXIT_STATUS(r, 0);
  EXPECT_NE(r.out.find("Supported machines are:"), std::string::npos) << r.out;
  EXPECT_TRUE(has_line(r.out, std::regex("^none\\s"))) << r.out;
}

TEST(CmdlineTest, AccelHelpListsQtest) {
  auto r = run_machina({"-accel", "help"});
  EXPECT_EXIT_STATUS(r, 0);
  EXPECT_TRUE(has_line(r.out, std::regex("^qtest$"))) << r.out;
}

TEST(CmdlineTest, DeviceHelpListsDevices) {
  auto r = run_machina({"-device", "help"});
  EXPECT_EXIT_STATUS(r, 0);
  // QEMU's form: name "isa-serial", bus ISA, desc "..."
  EXPECT_TRUE(has_line(r.out, std::regex("^name \"[^\"]+\""))) << r.out;
  EXPECT_NE(r.out.find("name \"machina-testdev-timer\""), std::string::npos) << r.out;
}

TEST(CmdlineTest, DeviceTypeHelpListsProperties) {
  auto r = run_machina({"-device", "machina-testdev-timer,help"});
  EXPECT_EXIT_STATUS(r, 0);
  EXPECT_NE(r.out.find("machina-testdev-timer options:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("iobase"), std::string::npos) << r.out;
}

TEST(CmdlineTest, ObjectHelp) {
  auto r = run_machina({"-object", "help"});
  EXPECT_EXIT_STATUS(r, 0);
  EXPECT_NE(r.out.find("List of user creatable objects:"), std::string::npos) << r.out;
}

TEST(CmdlineTest, UnknownDeviceIsAnError) {
  auto r = run_machina({"-M", "none", "-display", "none", "-device", "foo"});
  EXPECT_EXIT_STATUS(r, 1);
  EXPECT_EQ(first_line(r.err), "machina: -device foo: 'foo' is not a valid device model name");
}

TEST(CmdlineTest, UnknownOptionIsAnError) {
  auto r = run_machina({"-foo"});
  EXPECT_EXIT_STATUS(r, 1);
  EXPECT_EQ(first_line(r.err), "machina: -foo: invalid option");
}

TEST(CmdlineTest, MissingArgumentIsAnError) {
  auto r = run_machina({"-m"});
  EXPECT_EXIT_STATUS(r, 1);
  EXPECT_EQ(first_line(r.err), "machina: -m: requires an argument");
}

TEST(CmdlineTest, BadMemorySizeIsAnError) {
  auto r = run_machina({"-M", "none", "-m", "foo"});
  EXPECT_EXIT_STATUS(r, 1);
  EXPECT_EQ(r.err.rfind("machina: -m foo: ", 0), 0u) << r.err;
}

TEST(CmdlineTest, BadMachineIsAnError) {
  auto r = run_machina({"-M", "no-such-machine", "-display", "none"});
  EXPECT_EXIT_STATUS(r, 1);
  EXPECT_EQ(r.err.rfind("machina: ", 0), 0u) << r.err;
}

TEST(CmdlineTest, MachineNoneRunsUntilSigterm) {
  RawMachine m({"-M", "none", "-display", "none"}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  json r = q->execute("query-status");
  EXPECT_EQ(r["return"]["status"], "running") << r.dump();
  EXPECT_TRUE(m.child().running());
  m.child().send_signal(SIGTERM);
  ExitStatus st = m.wait_exit();
  EXPECT_TRUE(st.ok()) << st.describe();
}

TEST(CmdlineTest, DoubleDashMachineOption) {
  RawMachine m({"--machine", "none", "--display", "none"}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  m.child().send_signal(SIGTERM);
  EXPECT_TRUE(m.wait_exit().ok());
}

class SignalShutdownTest : public ::testing::TestWithParam<int> {};

TEST_P(SignalShutdownTest, SignalGivesHostSignalShutdownAndStatusZero) {
  RawMachine m({"-M", "none", "-display", "none"}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  ASSERT_TRUE(m.child().send_signal(GetParam()));
  auto ev = q->wait_event("SHUTDOWN");
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ((*ev)["data"]["reason"], "host-signal") << ev->dump();
  EXPECT_EQ((*ev)["data"]["guest"], false) << ev->dump();
  ExitStatus st = m.wait_exit();
  EXPECT_TRUE(st.ok()) << st.describe() << "\n" << m.child().stderr_text();
}

INSTANTIATE_TEST_SUITE_P(Signals, SignalShutdownTest, ::testing::Values(SIGTERM, SIGINT, SIGHUP),
                         [](const auto& info) { return std::string(sigabbrev_np(info.param)); });

// A process-directed SIGTERM goes to any thread that does not block it; only the main loop's
// signalfd may take it. So every thread machina starts — vCPU, I/O thread, block workers, the
// memory map reclaimer — blocks the shutdown signals (/proc/PID/task/TID/status SigBlk).
TEST(CmdlineTest, EveryThreadBlocksTheShutdownSignals) {
  TempPath img(".img");
  std::ofstream(img.str()).close();
  std::filesystem::resize_file(img.str(), 1 << 20);
  RawMachine m(
      {"-M", "q35", "-accel", "tcg", "-display", "none", "-object", "iothread,id=io0", "-drive",
       "if=none,id=d0,format=raw,aio=threads,file=" + img.str(), "-device",
       "virtio-blk-pci,drive=d0,iothread=io0", "-device", "pcie-root-port,id=rp1,chassis=1"},
      1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  // A memory map change (the root port's bridge windows) retires a flat view: the reclaimer
  // thread starts if it had not.
  EXPECT_TRUE(q->execute("query-status").contains("return"));
  const uint64_t want = (1ull << (SIGHUP - 1)) | (1ull << (SIGINT - 1)) | (1ull << (SIGTERM - 1));
  std::string task_dir = "/proc/" + std::to_string(m.child().pid()) + "/task";
  int threads = 0;
  for (const auto& t : std::filesystem::directory_iterator(task_dir)) {
    std::ifstream f(t.path() / "status");
    std::string line, name;
    uint64_t blocked = 0;
    while (std::getline(f, line)) {
      if (line.rfind("Name:", 0) == 0) name = line.substr(6);
      if (line.rfind("SigBlk:", 0) == 0) blocked = std::stoull(line.substr(8), nullptr, 16);
    }
    ++threads;
    EXPECT_EQ(blocked & want, want) << "thread " << t.path().filename() << " (" << name << ")";
  }
  EXPECT_GE(threads, 3) << "main, vCPU and the I/O thread at least";
  m.child().send_signal(SIGTERM);
  EXPECT_TRUE(m.wait_exit().ok());
}

TEST(CmdlineTest, SigtermExitsZeroEvenWithNoShutdown) {
  RawMachine m({"-M", "none", "-display", "none", "-no-shutdown"}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  m.child().send_signal(SIGTERM);
  ExitStatus st = m.wait_exit();
  EXPECT_TRUE(st.ok()) << st.describe();
}

TEST(CmdlineTest, QmpQuitExitsZeroWithHostQmpQuit) {
  RawMachine m({"-M", "none", "-display", "none"}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  json r = q->execute("quit");
  EXPECT_TRUE(r.contains("return")) << r.dump();
  auto ev = q->wait_event("SHUTDOWN");
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ((*ev)["data"]["reason"], "host-qmp-quit") << ev->dump();
  ExitStatus st = m.wait_exit();
  EXPECT_TRUE(st.ok()) << st.describe();
}

TEST(CmdlineTest, PidfileHoldsThePid) {
  TempPath pidfile("pid");
  RawMachine m({"-M", "none", "-display", "none", "-pidfile", pidfile.str()}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);  // once QMP answers, start-up (and the pidfile) is done
  ASSERT_TRUE(q);
  FILE* f = fopen(pidfile.str().c_str(), "r");
  ASSERT_NE(f, nullptr) << "no pidfile";
  long pid = 0;
  EXPECT_EQ(fscanf(f, "%ld", &pid), 1);
  fclose(f);
  EXPECT_EQ(pid, m.pid());
  m.child().send_signal(SIGTERM);
  EXPECT_TRUE(m.wait_exit().ok());
}

TEST(CmdlineTest, QtestStartupSequenceWorks) {
  QTestMachine m("-machine none");
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_TRUE(m.quit().ok());
}

TEST(CmdlineTest, QtestExtraArgsWithDoubleSpaces) {
  QTestMachine m("-M none  -m 16M");
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_TRUE(m.quit().ok());
}

}  // namespace
}  // namespace machina::qtest
