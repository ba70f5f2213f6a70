// The KVM accelerator seen from outside: accelerator selection and its errors, query-kvm, and
// a running test guest (tests/guest/x86/user_loop.S: 'S' at start, then '.' from CPL 3 on the
// debug console) stopped, resumed, reset and quit over QMP. Where /dev/kvm is unusable the
// cases that need it are skipped with the reason.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "qtest/harness.h"

namespace machina::qtest {
namespace {

std::string kvm_unusable() {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return std::string("/dev/kvm is unusable: ") + std::strerror(errno);
  ::close(fd);
  return "";
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string guest(const std::string& name) {
  return std::string(MACHINA_X86_GUEST_DIR) + "/" + name + ".elf";
}

// Waits until PRED holds for the debug console's text (at most 20 s).
template <class Pred>
bool wait_console(const std::string& path, Pred pred) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < end) {
    if (pred(read_file(path))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(KvmAccelTest, UnsupportedIrqchipModeIsAnInitFailure) {
  auto r = run_machina({"-M", "none", "-accel", "kvm,kernel-irqchip=split"});
  EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.status.describe() << r.err;
  EXPECT_NE(r.err.find("machina: failed to initialize kvm: kernel-irqchip=split is not supported"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("no accelerator found"), std::string::npos) << r.err;
}

TEST(KvmAccelTest, FailedKvmFallsBackToTheNextAccelerator) {
  RawMachine m({"-M", "none", "-accel", "kvm,kernel-irqchip=split", "-accel", "tcg"}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect();
  ASSERT_NE(q, nullptr);
  json k = q->execute("query-kvm");
  EXPECT_EQ(k["return"]["enabled"], false) << k.dump();
  q->execute("quit");
  EXPECT_TRUE(m.wait_exit().ok());
  EXPECT_NE(m.child().stderr_text().find("machina: falling back to tcg"), std::string::npos)
      << m.child().stderr_text();
}

// Without -accel the guest runs on the software CPU, as QEMU's default (tcg) does; query-kvm says
// KVM is not in use.
TEST(AccelSelection, DefaultIsTheSoftwareCpu) {
  auto r = run_machina({"-M", "q35", "-m", "64M", "-display", "none", "-kernel", guest("harness"),
                        "-append", "pass", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"});
  EXPECT_TRUE(r.status.exited && r.status.code == 33) << r.status.describe() << r.err;
  RawMachine m({"-M", "q35", "-display", "none", "-S"}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect();
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->execute("query-kvm")["return"]["enabled"], false);
  json info = q->execute("human-monitor-command", {{"command-line", "info kvm"}});
  EXPECT_EQ(info["return"], "kvm support: disabled\r\n") << info.dump();
  q->execute("quit");
  EXPECT_TRUE(m.wait_exit().ok());
}

TEST(KvmAccelTest, QueryKvmTellsTheTruth) {
  std::string why = kvm_unusable();
  if (!why.empty()) GTEST_SKIP() << why;
  for (auto args : {std::vector<std::string>{"-M", "none", "-accel", "kvm"},
                    std::vector<std::string>{"-M", "none", "-machine", "accel=kvm:tcg"},
                    std::vector<std::string>{"-M", "none", "-enable-kvm"}}) {
    RawMachine m(args, 1);
    ASSERT_TRUE(m.ok()) << m.error();
    auto q = m.connect();
    ASSERT_NE(q, nullptr);
    json k = q->execute("query-kvm");
    EXPECT_EQ(k["return"], (json{{"enabled", true}, {"present", true}})) << k.dump();
    q->execute("quit");
    EXPECT_TRUE(m.wait_exit().ok());
  }
  RawMachine t({"-M", "none", "-accel", "tcg"}, 1);
  auto q = t.connect();
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->execute("query-kvm")["return"], (json{{"enabled", false}, {"present", true}}));
  q->execute("quit");
  EXPECT_TRUE(t.wait_exit().ok());
}

// -cpu host is KVM's: refused under the software CPU with QEMU's message, and a guest runs on it
// under KVM.
TEST(KvmAccelTest, CpuHostNeedsKvm) {
  auto r = run_machina({"-M", "q35", "-accel", "tcg", "-cpu", "host", "-display", "none"});
  EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.status.describe() << r.err;
  EXPECT_NE(r.err.find("machina: CPU model 'host' requires KVM or HVF"), std::string::npos)
      << r.err;
}

TEST(KvmAccelTest, CpuHostRunsAGuest) {
  std::string why = kvm_unusable();
  if (!why.empty()) GTEST_SKIP() << why;
  TempPath con("con");
  RawMachine m({"-M", "q35", "-accel", "kvm", "-cpu", "host", "-m", "128M", "-display", "none",
                "-kernel", guest("user_loop"), "-chardev", "file,id=dbg,path=" + con.str(),
                "-device", "isa-debugcon,chardev=dbg"},
               1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect();
  ASSERT_NE(q, nullptr);
  json cpus = q->execute("query-cpus-fast");
  ASSERT_EQ(cpus["return"].size(), 1u) << cpus.dump();
  json type =
      q->execute("qom-get", {{"path", cpus["return"][0]["qom-path"]}, {"property", "type"}});
  EXPECT_EQ(type["return"], "host-x86_64-cpu") << type.dump();
  auto dots = [](const std::string& s) { return std::count(s.begin(), s.end(), '.'); };
  EXPECT_TRUE(wait_console(
      con.str(), [&](const std::string& s) { return s.rfind("S", 0) == 0 && dots(s) >= 5; }))
      << "console: " << read_file(con.str()).substr(0, 200);
  q->execute("quit");
  EXPECT_TRUE(m.wait_exit().ok()) << m.child().stderr_text();
}

// stop/cont/system_reset/quit on a two-CPU machine whose guest runs at CPL 3 under KVM, with
// machina's interrupt controllers and with KVM's (kernel-irqchip=on: q35 then has no 8259, PIT or
// I/O APIC model). The second CPU waits for its start-up IPI all along, across the reset.
class KvmIrqchipModes : public ::testing::TestWithParam<std::string> {};

TEST_P(KvmIrqchipModes, StopContResetQuitARunningGuest) {
  std::string why = kvm_unusable();
  if (!why.empty()) GTEST_SKIP() << why;
  TempPath con("con");
  RawMachine m({"-M", "q35", "-accel", "kvm,kernel-irqchip=" + GetParam(), "-smp", "2", "-m",
                "128M", "-display", "none", "-kernel", guest("user_loop"), "-chardev",
                "file,id=dbg,path=" + con.str(), "-device", "isa-debugcon,chardev=dbg"},
               1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect();
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->execute("query-kvm")["return"], (json{{"enabled", true}, {"present", true}}));
  json cpus = q->execute("query-cpus-fast")["return"];
  ASSERT_EQ(cpus.size(), 2u) << cpus.dump();
  EXPECT_NE(cpus[0]["thread-id"], cpus[1]["thread-id"]) << "one thread per vCPU";
  bool own_models = GetParam() == "off";
  for (const char* model : {"/machine/pic-master", "/machine/pit", "/machine/ioapic"}) {
    json r = q->execute("qom-list", {{"path", model}});
    EXPECT_EQ(r.contains("return"), own_models) << model << ": " << r.dump();
  }
  auto dots = [](const std::string& s) { return std::count(s.begin(), s.end(), '.'); };
  ASSERT_TRUE(wait_console(
      con.str(), [&](const std::string& s) { return s.rfind("S", 0) == 0 && dots(s) >= 5; }))
      << "console: " << read_file(con.str()).substr(0, 200);

  EXPECT_EQ(error_class(q->execute("stop")), "");
  EXPECT_TRUE(q->wait_event("STOP").has_value());
  EXPECT_EQ(q->execute("query-status")["return"]["status"], "paused");
  size_t stopped = read_file(con.str()).size();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(read_file(con.str()).size(), stopped) << "the guest ran while stopped";

  EXPECT_EQ(error_class(q->execute("cont")), "");
  EXPECT_TRUE(q->wait_event("RESUME").has_value());
  EXPECT_TRUE(wait_console(con.str(), [&](const std::string& s) { return s.size() > stopped + 3; }))
      << "no progress after cont";

  EXPECT_EQ(error_class(q->execute("system_reset")), "");
  EXPECT_TRUE(q->wait_event("RESET").has_value());
  EXPECT_TRUE(wait_console(con.str(), [&](const std::string& s) {
    size_t second = s.find('S', 1);
    return second != std::string::npos && s.size() > second + 3;
  })) << "the guest did not start again after system_reset";
  EXPECT_EQ(q->execute("query-status")["return"]["status"], "running");

  q->execute("quit");
  EXPECT_TRUE(m.wait_exit().ok()) << m.child().stderr_text();
}

INSTANTIATE_TEST_SUITE_P(Kvm, KvmIrqchipModes, ::testing::Values("off", "on"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           return "kernel_irqchip_" + i.param;
                         });

// As QEMU's, -accel kvm uses KVM's interrupt controllers unless told kernel-irqchip=off: the
// machine then has no 8259, PIT or I/O APIC model of its own.
TEST(KvmAccelTest, KernelIrqchipIsTheDefault) {
  std::string why = kvm_unusable();
  if (!why.empty()) GTEST_SKIP() << why;
  RawMachine m({"-M", "q35", "-accel", "kvm", "-m", "128M", "-display", "none", "-S"}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect();
  ASSERT_NE(q, nullptr);
  for (const char* model : {"/machine/pic-master", "/machine/pit", "/machine/ioapic"}) {
    json r = q->execute("qom-list", {{"path", model}});
    EXPECT_FALSE(r.contains("return")) << model << ": " << r.dump();
  }
  q->execute("quit");
  EXPECT_TRUE(m.wait_exit().ok()) << m.child().stderr_text();
}

// Test guests on the whole q35 machine under each accelerator, with the same result: smp.S starts
// the second CPU with INIT and start-up IPIs (-smp 2); elcr.S reads the 8259s' ELCRs as the
// firmware set-up left them; kvmclock.S finds KVM's paravirtual leaves (none on the software CPU),
// uses kvmclock and checks a reset turns it off. A pass is the debug-exit port's value 0x10: exit
// status 33. The guests print failures on QEMU's -debugcon.
class MachineGuests : public ::testing::TestWithParam<std::string> {};

TEST_P(MachineGuests, PassOnTheQ35Machine) {
  if (GetParam() != "tcg") {
    std::string why = kvm_unusable();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  for (const char* name : {"smp", "elcr", "kvmclock"}) {
    SCOPED_TRACE(name);
    TempPath con("con");
    auto r =
        run_machina({"-M", "q35", "-accel", GetParam(), "-smp", "2", "-m", "64M", "-display",
                     "none", "-kernel", guest(name), "-device",
                     "isa-debug-exit,iobase=0xf4,iosize=0x04", "-debugcon", "file:" + con.str()});
    EXPECT_TRUE(r.status.exited && r.status.code == 33)
        << r.status.describe() << r.err << "\nguest console:\n"
        << read_file(con.str());
  }
}

INSTANTIATE_TEST_SUITE_P(Accel, MachineGuests,
                         ::testing::Values("tcg", "kvm,kernel-irqchip=on",
                                           "kvm,kernel-irqchip=off"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// Many stop/cont cycles and resets in a row: every kick gets the vCPU out of KVM_RUN and back.
TEST(KvmAccelTest, RepeatedStopContAndReset) {
  std::string why = kvm_unusable();
  if (!why.empty()) GTEST_SKIP() << why;
  TempPath con("con");
  RawMachine m({"-M", "q35", "-accel", "kvm", "-m", "128M", "-display", "none", "-kernel",
                guest("user_loop"), "-chardev", "file,id=dbg,path=" + con.str(), "-device",
                "isa-debugcon,chardev=dbg"},
               1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect();
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(wait_console(con.str(), [](const std::string& s) { return s.size() > 2; }));
  auto starts = [](const std::string& s) { return std::count(s.begin(), s.end(), 'S'); };
  long resets = 0;
  for (int i = 0; i < 40; i++) {
    ASSERT_EQ(error_class(q->execute("stop")), "") << i;
    ASSERT_EQ(q->execute("query-status")["return"]["status"], "paused") << i;
    ASSERT_EQ(error_class(q->execute("cont")), "") << i;
    ASSERT_EQ(q->execute("query-status")["return"]["status"], "running") << i;
    if (i % 8 == 7) {
      ASSERT_EQ(error_class(q->execute("system_reset")), "") << i;
      resets++;
      // The guest starts again (its 'S') before the next round.
      ASSERT_TRUE(
          wait_console(con.str(), [&](const std::string& s) { return starts(s) == 1 + resets; }))
          << "reset " << resets;
    }
  }
  // Still running: the console grows.
  size_t now = read_file(con.str()).size();
  EXPECT_TRUE(wait_console(con.str(), [&](const std::string& s) { return s.size() > now + 3; }));
  EXPECT_EQ(starts(read_file(con.str())), 6);
  q->execute("quit");
  EXPECT_TRUE(m.wait_exit().ok()) << m.child().stderr_text();
}

// `info registers` shows the stopped guest's state under either accelerator (KVM reads it back
// when the vCPU stops); `info kvm` says which.
TEST(KvmAccelTest, InfoRegistersUnderEachAccelerator) {
  for (std::string accel : {"tcg", "kvm"}) {
    SCOPED_TRACE(accel);
    if (accel == "kvm" && !kvm_unusable().empty()) continue;  // reported by the tests above
    TempPath con("con");
    RawMachine m({"-M", "q35", "-accel", accel, "-m", "128M", "-display", "none", "-kernel",
                  guest("user_loop"), "-chardev", "file,id=dbg,path=" + con.str(), "-device",
                  "isa-debugcon,chardev=dbg"},
                 1);
    ASSERT_TRUE(m.ok()) << m.error();
    auto q = m.connect();
    ASSERT_NE(q, nullptr);
    ASSERT_TRUE(wait_console(con.str(), [](const std::string& s) { return s.size() > 2; }));
    auto hmp = [&](const std::string& cmd) {
      json r = q->execute("human-monitor-command", {{"command-line", cmd}});
      return r["return"].is_string() ? r["return"].get<std::string>() : r.dump();
    };
    EXPECT_EQ(hmp("info kvm"),
              std::string("kvm support: ") + (accel == "kvm" ? "enabled" : "disabled") + "\r\n");
    q->execute("stop");
    std::string regs = hmp("info registers");
    EXPECT_NE(regs.find("RIP=0000000000"), std::string::npos) << regs;
    EXPECT_NE(regs.find("CR0=80050033"), std::string::npos) << regs;  // the 64-bit entry's, + WP
    EXPECT_NE(regs.find("EFER=0000000000000d01"), std::string::npos) << regs;  // SCE LME LMA NXE
    EXPECT_NE(regs.find("GDT=     0000000000"), std::string::npos) << regs;
    q->execute("quit");
    EXPECT_TRUE(m.wait_exit().ok());
  }
}

// A triple fault under KVM (KVM_EXIT_SHUTDOWN) is a guest reset, which -no-reboot turns into a
// shutdown, as QEMU does: SHUTDOWN with reason guest-reset, exit status 0.
TEST(KvmAccelTest, TripleFaultIsAGuestReset) {
  std::string why = kvm_unusable();
  if (!why.empty()) GTEST_SKIP() << why;
  RawMachine m({"-M", "q35", "-accel", "kvm", "-m", "128M", "-display", "none", "-no-reboot",
                "-kernel", guest("harness"), "-append", "triple"},
               1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect();
  ASSERT_NE(q, nullptr);
  auto ev = q->wait_event("SHUTDOWN", Ms(20000));
  ASSERT_TRUE(ev.has_value()) << m.child().stderr_text();
  EXPECT_EQ((*ev)["data"]["reason"], "guest-reset") << ev->dump();
  EXPECT_EQ((*ev)["data"]["guest"], true) << ev->dump();
  EXPECT_TRUE(m.wait_exit().ok()) << m.child().stderr_text();
}

}  // namespace
}  // namespace machina::qtest
