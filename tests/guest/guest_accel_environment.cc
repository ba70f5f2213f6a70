// Linked into the Linux guest test binaries: a global test environment that, when the accelerator
// they were asked to use (guest_accel.h) cannot boot Linux here, runs none of the tests: it says
// why and ends the process with status 77, which ctest (SKIP_RETURN_CODE) reports as skipped.
// (A GTEST_SKIP in an environment would leave gtest counting every test as passed.)
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "guest/guest_accel.h"

namespace machina::test {

namespace {

constexpr int kSkipStatus = 77;  // tests/CMakeLists.txt: SKIP_RETURN_CODE

class GuestAccelEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string why = guest_test_accel_unavailable();
    if (why.empty()) return;
    std::printf("SKIPPED: all %d tests (accel %s): %s\n",
                ::testing::UnitTest::GetInstance()->test_to_run_count(), guest_test_accel().c_str(),
                why.c_str());
    std::fflush(stdout);
    std::_Exit(kSkipStatus);
  }
};

[[maybe_unused]] ::testing::Environment* const g_environment =
    ::testing::AddGlobalTestEnvironment(new GuestAccelEnvironment);

}  // namespace

}  // namespace machina::test
