#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "util/main-loop.h"
#include "util/qemu-timer.h"

namespace machina {
namespace {

class VirtualClockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    virtual_clock_reset_for_test();
    virtual_clock_set_mode(VirtualClockMode::Manual);
  }
  void TearDown() override { virtual_clock_reset_for_test(); }
};

TEST(Clocks, RealtimeAndHostAdvance) {
  int64_t r0 = clock_get_ns(ClockType::Realtime);
  int64_t h0 = clock_get_ns(ClockType::Host);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_GE(clock_get_ns(ClockType::Realtime) - r0, 2 * kNsPerMs);
  EXPECT_GT(clock_get_ns(ClockType::Host), h0);
  // Host is wall-clock time: after 2020.
  EXPECT_GT(h0 / kNsPerSec, int64_t(1577836800));
}

TEST(Clocks, VirtualClockStartsStoppedAndFollowsPauseResume) {
  virtual_clock_reset_for_test();
  EXPECT_EQ(clock_get_ns(ClockType::Virtual), 0);
  EXPECT_FALSE(virtual_clock_running());
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(clock_get_ns(ClockType::Virtual), 0);

  virtual_clock_resume();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  int64_t v1 = clock_get_ns(ClockType::Virtual);
  EXPECT_GE(v1, 5 * kNsPerMs);
  virtual_clock_pause();
  int64_t frozen = clock_get_ns(ClockType::Virtual);
  EXPECT_GE(frozen, v1);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(clock_get_ns(ClockType::Virtual), frozen);
  // Resuming continues from the frozen value, it does not jump by the paused time.
  virtual_clock_resume();
  int64_t v2 = clock_get_ns(ClockType::Virtual);
  EXPECT_GE(v2, frozen);
  EXPECT_LT(v2 - frozen, 4 * kNsPerMs);
  virtual_clock_reset_for_test();
}

TEST(Clocks, PausedVirtualTimersDoNotFire) {
  virtual_clock_reset_for_test();
  virtual_clock_resume();
  MainLoop loop;
  int fired = 0;
  Timer t(ClockType::Virtual, [&] { fired++; });
  t.mod(clock_get_ns(ClockType::Virtual) + 3 * kNsPerMs);
  virtual_clock_pause();
  std::this_thread::sleep_for(std::chrono::milliseconds(6));
  loop.run_once(0);
  EXPECT_EQ(fired, 0);
  // Paused: the loop does not wake for a virtual deadline.
  EXPECT_EQ(timers_deadline_ns(), -1);
  virtual_clock_resume();
  auto start = std::chrono::steady_clock::now();
  while (!fired && std::chrono::steady_clock::now() - start < std::chrono::seconds(2)) {
    loop.run_once(-1);
  }
  EXPECT_EQ(fired, 1);
  virtual_clock_reset_for_test();
}

TEST_F(VirtualClockTest, TimersFireInDeadlineOrderWithStableTies) {
  std::string order;
  Timer a(ClockType::Virtual, [&] { order += 'a'; });
  Timer b(ClockType::Virtual, [&] { order += 'b'; });
  Timer c(ClockType::Virtual, [&] { order += 'c'; });
  Timer d(ClockType::Virtual, [&] { order += 'd'; });
  c.mod(300);
  a.mod(100);
  d.mod(100);
  b.mod(100);
  EXPECT_EQ(clock_step(1000), 1000);
  EXPECT_EQ(order, "adbc");
}

TEST_F(VirtualClockTest, ReArmingMovesToTheEndOfEqualDeadlines) {
  std::string order;
  Timer a(ClockType::Virtual, [&] { order += 'a'; });
  Timer b(ClockType::Virtual, [&] { order += 'b'; });
  a.mod(50);
  b.mod(50);
  a.mod(50);
  clock_step(50);
  EXPECT_EQ(order, "ba");
}

TEST_F(VirtualClockTest, StepRunsOnlyDueTimersAndReportsTheClock) {
  int fired = 0;
  Timer t(ClockType::Virtual, [&] { fired++; });
  t.mod(1000);
  EXPECT_EQ(clock_step(999), 999);
  EXPECT_EQ(fired, 0);
  EXPECT_TRUE(t.pending());
  EXPECT_EQ(t.expire_time(), 1000);
  EXPECT_EQ(clock_step(1), 1000);
  EXPECT_EQ(fired, 1);
  EXPECT_FALSE(t.pending());
  EXPECT_EQ(t.expire_time(), -1);
}

TEST_F(VirtualClockTest, ClockSeesEachDeadlineDuringAStep) {
  std::vector<int64_t> seen;
  Timer a(ClockType::Virtual, [&] { seen.push_back(clock_get_ns(ClockType::Virtual)); });
  Timer b(ClockType::Virtual, [&] { seen.push_back(clock_get_ns(ClockType::Virtual)); });
  a.mod(100);
  b.mod(250);
  EXPECT_EQ(clock_step(1000), 1000);
  EXPECT_EQ(seen, (std::vector<int64_t>{100, 250}));
}

TEST_F(VirtualClockTest, PeriodicTimerReArmedInCallbackFiresEachPeriodWithinAStep) {
  std::vector<int64_t> seen;
  Timer* self = nullptr;
  Timer t(ClockType::Virtual, [&] {
    int64_t now = clock_get_ns(ClockType::Virtual);
    seen.push_back(now);
    self->mod(now + 100);
  });
  self = &t;
  t.mod(100);
  clock_step(450);
  EXPECT_EQ(seen, (std::vector<int64_t>{100, 200, 300, 400}));
  EXPECT_EQ(t.expire_time(), 500);
  EXPECT_EQ(clock_get_ns(ClockType::Virtual), 450);
}

TEST_F(VirtualClockTest, StepNextAdvancesToTheNextDeadline) {
  int fired = 0;
  Timer t(ClockType::Virtual, [&] { fired++; });
  // No timer: nothing moves.
  EXPECT_EQ(clock_step_next(), 0);
  t.mod(12345);
  EXPECT_EQ(clock_step_next(), 12345);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(clock_step_next(), 12345);
}

TEST_F(VirtualClockTest, SetIsAbsoluteAndNeverGoesBack) {
  int fired = 0;
  Timer t(ClockType::Virtual, [&] { fired++; });
  t.mod(500);
  EXPECT_EQ(clock_set(400), 400);
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(clock_set(100), 400);  // already past: no-op
  EXPECT_EQ(clock_set(600), 600);
  EXPECT_EQ(fired, 1);
}

TEST_F(VirtualClockTest, ManualClockIgnoresRealTimeAndTheLoop) {
  MainLoop loop;
  virtual_clock_resume();
  int fired = 0;
  Timer t(ClockType::Virtual, [&] { fired++; });
  t.mod(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  EXPECT_EQ(clock_get_ns(ClockType::Virtual), 0);
  loop.run_once(0);
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(timers_deadline_ns(), -1);
  clock_step(1);
  EXPECT_EQ(fired, 1);
}

TEST_F(VirtualClockTest, DeleteAndDestroyInsideCallbacks) {
  std::string order;
  auto victim = std::make_unique<Timer>(ClockType::Virtual, [&] { order += 'v'; });
  std::unique_ptr<Timer> self;
  self = std::make_unique<Timer>(ClockType::Virtual, [&] {
    order += 's';
    self.reset();  // destroys the running timer
  });
  Timer killer(ClockType::Virtual, [&] {
    order += 'k';
    victim.reset();  // destroys a timer that is due at the same time
  });
  self->mod(10);
  killer.mod(10);
  victim->mod(10);
  clock_step(10);
  EXPECT_EQ(order, "sk");
  EXPECT_EQ(self, nullptr);
  EXPECT_EQ(victim, nullptr);
}

TEST_F(VirtualClockTest, DelCancels) {
  int fired = 0;
  Timer t(ClockType::Virtual, [&] { fired++; });
  t.mod(10);
  t.del();
  t.del();
  clock_step(100);
  EXPECT_EQ(fired, 0);
}

TEST_F(VirtualClockTest, ModAnticipateOnlyMovesEarlier) {
  Timer t(ClockType::Virtual, [] {});
  t.mod_anticipate(100);
  EXPECT_EQ(t.expire_time(), 100);
  t.mod_anticipate(200);
  EXPECT_EQ(t.expire_time(), 100);
  t.mod_anticipate(50);
  EXPECT_EQ(t.expire_time(), 50);
}

TEST_F(VirtualClockTest, ModeSwitchKeepsTheValue) {
  clock_step(777);
  virtual_clock_set_mode(VirtualClockMode::Running);
  EXPECT_EQ(clock_get_ns(ClockType::Virtual), 777);  // paused: frozen at the manual value
  virtual_clock_set_mode(VirtualClockMode::Manual);
  EXPECT_EQ(clock_get_ns(ClockType::Virtual), 777);
}

TEST(Timers, RealtimeTimersRunFromTheLoopInOrder) {
  MainLoop loop;
  std::string order;
  int64_t now = clock_get_ns(ClockType::Realtime);
  Timer a(ClockType::Realtime, [&] { order += 'a'; });
  Timer b(ClockType::Realtime, [&] { order += 'b'; });
  b.mod(now + 2 * kNsPerMs);
  a.mod(now + 1 * kNsPerMs);
  auto start = std::chrono::steady_clock::now();
  while (order.size() < 2 && std::chrono::steady_clock::now() - start < std::chrono::seconds(2)) {
    loop.run_once(-1);
  }
  EXPECT_EQ(order, "ab");
}

TEST(Timers, RealtimeTimerReArmedInCallbackDoesNotSpin) {
  MainLoop loop;
  int fired = 0;
  Timer* self = nullptr;
  Timer t(ClockType::Realtime, [&] {
    fired++;
    self->mod(clock_get_ns(ClockType::Realtime));  // due immediately, again
  });
  self = &t;
  t.mod(0);
  loop.run_once(0);
  EXPECT_EQ(fired, 1);  // ran once this iteration, not in a tight loop
  loop.run_once(0);
  EXPECT_EQ(fired, 2);
  t.del();
}

}  // namespace
}  // namespace machina
