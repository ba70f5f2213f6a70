// System-level tests of the software x86-64 CPU: the guests of tests/guest/x86 run in process
// and report through the debug-exit port (see tests/guest/x86/mailbox.h).
#include <gtest/gtest.h>

#include "accel/tcg/x86_guest_runner.h"
#include "guest/x86/mailbox.h"

namespace machina::test {
namespace {

class X86Guest : public ::testing::Test {
 protected:
  // Runs `name` and expects it to report GT_PASS within the instruction budget.
  void expect_pass(const std::string& name) {
    GuestOutcome o = runner_.run(name);
    ASSERT_TRUE(o.loaded) << o.explanation;
    EXPECT_TRUE(o.started) << o.explanation;
    EXPECT_TRUE(o.reported) << o.explanation;
    EXPECT_EQ(o.value, uint32_t{GT_PASS}) << name << ": " << o.explanation;
    EXPECT_EQ(o.stop, "port");
    EXPECT_LT(o.instructions, X86GuestRunner::kDefaultBudget);
    RecordProperty("instructions", std::to_string(o.instructions));
  }

  X86GuestRunner runner_;
};

TEST_F(X86Guest, Paging) {
  expect_pass("paging");
}
TEST_F(X86Guest, Tlb) {
  expect_pass("tlb");
}
TEST_F(X86Guest, Exceptions) {
  expect_pass("exceptions");
}
TEST_F(X86Guest, Syscall) {
  expect_pass("syscall");
}
// 32-bit code under a 64-bit kernel: IRETQ, INT, exceptions, SYSCALL/SYSRETL.
TEST_F(X86Guest, CompatibilityMode) {
  expect_pass("compat");
}
TEST_F(X86Guest, SelfModifyingCode) {
  expect_pass("smc");
}
TEST_F(X86Guest, StringInstructions) {
  expect_pass("string");
}

// The harness itself: a guest that fails on request must be seen failing, with the check's name
// and values, from CPL 0 and CPL 3; an unexpected exception is reported as such.
TEST_F(X86Guest, HarnessSeesAFailedCheck) {
  GuestOutcome o = runner_.run("harness", "fail-check");
  ASSERT_TRUE(o.reported) << o.explanation;
  EXPECT_EQ(o.value, 0xf01u);
  EXPECT_NE(o.explanation.find("\"deliberate failure\": actual 0x1, expected 0x2"),
            std::string::npos)
      << o.explanation;
}

TEST_F(X86Guest, HarnessSeesAFailedCheckInUserMode) {
  GuestOutcome o = runner_.run("harness", "fail-user");
  ASSERT_TRUE(o.reported) << o.explanation;
  EXPECT_EQ(o.value, 0xf02u);
  EXPECT_NE(o.explanation.find("\"deliberate failure at CPL 3\": actual 0x3, expected 0x4"),
            std::string::npos)
      << o.explanation;
}

TEST_F(X86Guest, HarnessSeesAnUnexpectedException) {
  GuestOutcome o = runner_.run("harness", "unexpected-ud");
  ASSERT_TRUE(o.reported) << o.explanation;
  EXPECT_EQ(o.value, uint32_t{GT_UNEXPECTED(6)});
  EXPECT_NE(o.explanation.find("unexpected exception: vector 0x6"), std::string::npos)
      << o.explanation;
}

TEST_F(X86Guest, HarnessSeesATripleFault) {
  GuestOutcome o = runner_.run("harness", "triple");
  EXPECT_FALSE(o.reported);
  EXPECT_EQ(o.stop, "triple fault");
}

TEST_F(X86Guest, HarnessPasses) {
  GuestOutcome o = runner_.run("harness", "pass");
  EXPECT_EQ(o.value, uint32_t{GT_PASS}) << o.explanation;
  EXPECT_EQ(o.stop, "port");
}

TEST_F(X86Guest, HarnessReportsAMissingGuest) {
  GuestOutcome o = runner_.run("no-such-guest");
  EXPECT_FALSE(o.loaded);
  EXPECT_NE(o.explanation.find("no-such-guest"), std::string::npos) << o.explanation;
}

}  // namespace
}  // namespace machina::test
