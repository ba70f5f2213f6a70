#include "util/main-loop.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "util/qemu-timer.h"

namespace machina {
namespace {

struct SocketPair {
  int fd[2];
  SocketPair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd), 0); }
  ~SocketPair() {
    close(fd[0]);
    close(fd[1]);
  }
};

TEST(MainLoop, ReadHandlerRunsWhenDataArrives) {
  MainLoop loop;
  SocketPair sp;
  int reads = 0;
  std::string got;
  ASSERT_TRUE(loop.set_fd_handler(
                      sp.fd[0],
                      [&] {
                        char buf[16];
                        ssize_t n = read(sp.fd[0], buf, sizeof(buf));
                        if (n > 0) got.append(buf, size_t(n));
                        reads++;
                      },
                      nullptr)
                  .ok());
  EXPECT_FALSE(loop.run_once(0));
  EXPECT_EQ(reads, 0);
  ASSERT_EQ(write(sp.fd[1], "hi", 2), 2);
  EXPECT_TRUE(loop.run_once(1000 * kNsPerMs));
  EXPECT_EQ(reads, 1);
  EXPECT_EQ(got, "hi");
  loop.remove_fd_handler(sp.fd[0]);
  ASSERT_EQ(write(sp.fd[1], "x", 1), 1);
  EXPECT_FALSE(loop.run_once(0));
  EXPECT_EQ(reads, 1);
}

TEST(MainLoop, WriteHandlerAndEnableDisable) {
  MainLoop loop;
  SocketPair sp;
  int writes = 0;
  ASSERT_TRUE(loop.set_fd_handler(sp.fd[0], nullptr, [&] { writes++; }).ok());
  loop.run_once(0);
  EXPECT_EQ(writes, 1);
  loop.enable_fd_write(sp.fd[0], false);
  loop.run_once(0);
  EXPECT_EQ(writes, 1);
  loop.enable_fd_write(sp.fd[0], true);
  loop.run_once(0);
  EXPECT_EQ(writes, 2);
  loop.remove_fd_handler(sp.fd[0]);
}

TEST(MainLoop, InvalidFdIsAnError) {
  MainLoop loop;
  EXPECT_FALSE(loop.set_fd_handler(
                       -1, [] {}, nullptr)
                   .ok());
  // A closed descriptor: epoll refuses it and the loop reports it.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);
  close(fds[1]);
  EXPECT_FALSE(loop.set_fd_handler(
                       fds[0], [] {}, nullptr)
                   .ok());
}

TEST(MainLoop, HandlerMayRemoveItselfAndOthers) {
  MainLoop loop;
  SocketPair a, b;
  int a_calls = 0, b_calls = 0;
  ASSERT_TRUE(loop.set_fd_handler(
                      a.fd[0],
                      [&] {
                        a_calls++;
                        loop.remove_fd_handler(a.fd[0]);
                        loop.remove_fd_handler(b.fd[0]);
                      },
                      nullptr)
                  .ok());
  ASSERT_TRUE(loop.set_fd_handler(
                      b.fd[0],
                      [&] {
                        b_calls++;
                        loop.remove_fd_handler(a.fd[0]);
                        loop.remove_fd_handler(b.fd[0]);
                      },
                      nullptr)
                  .ok());
  ASSERT_EQ(write(a.fd[1], "x", 1), 1);
  ASSERT_EQ(write(b.fd[1], "x", 1), 1);
  loop.run_once(100 * kNsPerMs);
  // Both were ready in the same wait; whichever ran first removed the other.
  EXPECT_EQ(a_calls + b_calls, 1);
  loop.run_once(0);
  EXPECT_EQ(a_calls + b_calls, 1);
}

TEST(MainLoop, HandlerMayReplaceItself) {
  MainLoop loop;
  SocketPair sp;
  int first = 0, second = 0;
  auto second_handler = [&] {
    char c;
    if (read(sp.fd[0], &c, 1) == 1) second++;
  };
  ASSERT_TRUE(loop.set_fd_handler(
                      sp.fd[0],
                      [&] {
                        char c;
                        if (read(sp.fd[0], &c, 1) == 1) first++;
                        // Replacing destroys the running std::function's entry.
                        (void)loop.set_fd_handler(sp.fd[0], second_handler, nullptr);
                      },
                      nullptr)
                  .ok());
  ASSERT_EQ(write(sp.fd[1], "a", 1), 1);
  loop.run_once(100 * kNsPerMs);
  ASSERT_EQ(write(sp.fd[1], "b", 1), 1);
  loop.run_once(100 * kNsPerMs);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
  loop.remove_fd_handler(sp.fd[0]);
}

TEST(MainLoop, HangupIsReportedToReadHandler) {
  MainLoop loop;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  bool eof = false;
  ASSERT_TRUE(loop.set_fd_handler(
                      fds[0],
                      [&] {
                        char c;
                        if (read(fds[0], &c, 1) == 0) eof = true;
                        loop.remove_fd_handler(fds[0]);
                      },
                      nullptr)
                  .ok());
  close(fds[1]);
  loop.run_once(100 * kNsPerMs);
  EXPECT_TRUE(eof);
  close(fds[0]);
}

TEST(MainLoop, PostFromManyThreads) {
  MainLoop loop;
  constexpr int kThreads = 8, kPerThread = 500;
  int count = 0;  // only touched on the loop thread
  std::vector<int> last_seen(kThreads, -1);
  bool in_order = true;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; i++) {
        loop.post([&, t, i] {
          if (i != last_seen[t] + 1) in_order = false;
          last_seen[t] = i;
          count++;
          if (count == kThreads * kPerThread) loop.quit();
        });
      }
    });
  }
  auto start = std::chrono::steady_clock::now();
  while (!loop.quit_requested() &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    loop.run_once(100 * kNsPerMs);
  }
  for (auto& th : threads) th.join();
  loop.run_once(0);
  EXPECT_EQ(count, kThreads * kPerThread);
  EXPECT_TRUE(in_order);
}

TEST(MainLoop, WakeUnblocksAWaitingLoop) {
  MainLoop loop;
  loop.run_once(0);  // this thread is the loop thread
  bool ran = false;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    loop.post([&] { ran = true; });
  });
  auto start = std::chrono::steady_clock::now();
  loop.run_once(5 * kNsPerSec);
  auto took = std::chrono::steady_clock::now() - start;
  t.join();
  EXPECT_TRUE(ran);
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST(MainLoop, RunReturnsOnQuitFromAnotherThread) {
  MainLoop loop;
  loop.run_once(0);
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    loop.quit();
  });
  loop.run();
  t.join();
  EXPECT_FALSE(loop.quit_requested());
}

TEST(MainLoop, BottomHalvesRunOnceAndCanBeCancelled) {
  MainLoop loop;
  int runs = 0;
  BottomHalf bh(loop, [&] { runs++; });
  bh.schedule();
  bh.schedule();
  EXPECT_TRUE(bh.scheduled());
  loop.run_once(0);
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(bh.scheduled());
  bh.schedule();
  bh.cancel();
  loop.run_once(0);
  EXPECT_EQ(runs, 1);
}

TEST(MainLoop, BottomHalfMayRescheduleOrDeleteItself) {
  MainLoop loop;
  int runs = 0;
  BottomHalf again(loop, [&] {
    if (++runs < 3) again.schedule();
  });
  again.schedule();
  loop.run_once(0);
  EXPECT_EQ(runs, 1);  // rescheduled ones wait for the next iteration
  loop.run_once(0);
  loop.run_once(0);
  EXPECT_EQ(runs, 3);

  bool deleted_ran = false;
  auto* self = new BottomHalf(loop, nullptr);
  BottomHalf deleter(loop, [&] {
    deleted_ran = true;
    delete self;
  });
  int victim_runs = 0;
  BottomHalf victim(loop, [&] { victim_runs++; });
  BottomHalf killer(loop, [&] { victim.cancel(); });
  deleter.schedule();
  killer.schedule();
  victim.schedule();
  loop.run_once(0);
  EXPECT_TRUE(deleted_ran);
  EXPECT_FALSE(victim.scheduled());
  EXPECT_EQ(victim_runs, 0);
}

TEST(MainLoop, BottomHalfDestroyedInsideItsOwnCallback) {
  MainLoop loop;
  int runs = 0;
  BottomHalf* bh = nullptr;
  bh = new BottomHalf(loop, [&] {
    runs++;
    delete bh;
  });
  bh->schedule();
  loop.run_once(0);
  EXPECT_EQ(runs, 1);
}

TEST(MainLoop, ScheduleFromAnotherThreadWakesTheLoop) {
  MainLoop loop;
  loop.run_once(0);
  bool ran = false;
  BottomHalf bh(loop, [&] { ran = true; });
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    bh.schedule();
  });
  auto start = std::chrono::steady_clock::now();
  while (!ran && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    loop.run_once(5 * kNsPerSec);
  }
  t.join();
  EXPECT_TRUE(ran);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(MainLoop, TimeoutFollowsNearestTimer) {
  MainLoop loop;
  bool fired = false;
  Timer t(ClockType::Realtime, [&] { fired = true; });
  t.mod(clock_get_ns(ClockType::Realtime) + 20 * kNsPerMs);
  auto start = std::chrono::steady_clock::now();
  while (!fired) loop.run_once(-1);  // would block forever without the deadline
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(19));
  EXPECT_LT(took, std::chrono::milliseconds(1000));
}

TEST(MainLoop, TimerArmedFromAnotherThreadWakesTheLoop) {
  MainLoop loop;
  loop.run_once(0);
  bool fired = false;
  Timer t(ClockType::Realtime, [&] { fired = true; });
  std::thread th([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    t.mod(clock_get_ns(ClockType::Realtime) + 5 * kNsPerMs);
  });
  auto start = std::chrono::steady_clock::now();
  while (!fired && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    loop.run_once(10 * kNsPerSec);
  }
  th.join();
  EXPECT_TRUE(fired);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(MainLoop, PrepareHooksRunBeforeEachWait) {
  MainLoop loop;
  int calls = 0;
  int id = loop.add_prepare_hook([&] { calls++; });
  loop.run_once(0);
  loop.run_once(0);
  EXPECT_EQ(calls, 2);
  loop.remove_prepare_hook(id);
  loop.run_once(0);
  EXPECT_EQ(calls, 2);
}

TEST(MainLoop, GlobalLoopRunsPostedWork) {
  bool ran = false;
  std::thread t([&] { run_on_main_loop([&] { ran = true; }); });
  t.join();
  main_loop().run_once(0);
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace machina
