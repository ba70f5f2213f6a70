// The guest clock under KVM across stop and cont (kvm-clock.cc): the time the VM spends stopped
// is not the guest's, as with QEMU's kvmclock device.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "accel/kvm/kvm-internal.h"
#include "accel/kvm/x86_accel_runner.h"
#include "system/runstate.h"

namespace machina::test {
namespace {

using namespace std::chrono_literals;

TEST(KvmClock, StandsStillWhileTheVmIsStopped) {
  std::string why = X86AccelRunner::unavailable_reason("kvm");
  if (!why.empty()) GTEST_SKIP() << why;
  ASSERT_TRUE(kvm::kvm_state()->adjust_clock) << "KVM without KVM_CAP_ADJUST_CLOCK";
  vm_start();
  auto t0 = kvm::kvm_clock_ns();
  ASSERT_TRUE(t0.ok()) << t0.message();
  vm_stop();
  std::this_thread::sleep_for(400ms);
  vm_start();
  auto t1 = kvm::kvm_clock_ns();
  ASSERT_TRUE(t1.ok()) << t1.message();
  EXPECT_LT(t1.value() - t0.value(), uint64_t{200'000'000}) << "the stopped 400 ms counted";
  // Running, it goes on.
  std::this_thread::sleep_for(200ms);
  auto t2 = kvm::kvm_clock_ns();
  ASSERT_TRUE(t2.ok()) << t2.message();
  EXPECT_GE(t2.value() - t1.value(), uint64_t{190'000'000});
  vm_stop();
}

}  // namespace
}  // namespace machina::test
