// -nographic: the human monitor on stdio answers commands and `quit` ends the process with 0.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace {

std::string run_shell(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = ::pclose(p);
  return out;
}

TEST(Nographic, HumanMonitorOnStdio) {
  int status = -1;
  std::string out = run_shell(
      "printf 'info status\\nquit\\n' | timeout 10 " MACHINA_BINARY " -M none -nographic", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("QEMU 7.2.0 monitor - type 'help' for more information"), std::string::npos)
      << out;
  EXPECT_NE(out.find("VM status: running"), std::string::npos) << out;
}

// The monitor keeps the CPU `cpu N` chose for the commands after it (Ctrl-a c first: with a
// serial port on stdio too, typed text goes to the serial port until switched).
TEST(Nographic, CpuCommandChoosesTheMonitorsCpu) {
  int status = -1;
  std::string out =
      run_shell("printf '\\001ccpu 1\\ninfo cpus\\nquit\\n' | timeout 10 " MACHINA_BINARY
                " -M q35 -accel qtest -smp 2 -nographic",
                &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("  CPU #0: thread_id="), std::string::npos) << out;
  EXPECT_NE(out.find("* CPU #1: thread_id="), std::string::npos) << out;
}

TEST(Nographic, NodefaultsLeavesStdioAlone) {
  int status = -1;
  std::string out = run_shell("printf 'info status\\n' | timeout 1 " MACHINA_BINARY
                              " -M none -nographic -nodefaults; echo rc=$?",
                              &status);
  // Nothing reads stdin: the process runs until `timeout` stops it (status 124).
  EXPECT_EQ(out.find("VM status"), std::string::npos) << out;
  EXPECT_NE(out.find("rc=124"), std::string::npos) << out;
}

}  // namespace
