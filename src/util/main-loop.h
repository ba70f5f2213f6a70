// The main loop: an epoll event loop that runs fd handlers, bottom halves, work handed over from
// other threads, and the timers of every clock (util/qemu-timer.h).
//
// Everything except post(), wake(), quit() and BottomHalf::schedule() must be called on the
// loop's own thread (the thread that runs it), except set_fd_handler() / remove_fd_handler(),
// which may also be called from any thread that holds the big lock: the loop dispatches under
// it, so a handler removed that way is not running and will not run.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "qapi/error.h"

namespace machina {

class MainLoop;

// A deferred callback that runs once on the loop after schedule(). Scheduling twice before it
// runs runs it once. Destroying it cancels it. schedule() is thread-safe.
class BottomHalf {
 public:
  BottomHalf(MainLoop& loop, std::function<void()> cb) : loop_(loop), cb_(std::move(cb)) {}
  ~BottomHalf() {
    cancel();
    if (destroyed_flag_) *destroyed_flag_ = true;
  }
  BottomHalf(const BottomHalf&) = delete;
  BottomHalf& operator=(const BottomHalf&) = delete;

  void schedule();
  void cancel();
  bool scheduled() const { return scheduled_.load(std::memory_order_relaxed); }

 private:
  friend class MainLoop;
  MainLoop& loop_;
  std::function<void()> cb_;
  std::atomic<bool> scheduled_{false};
  bool* destroyed_flag_ = nullptr;
  std::list<BottomHalf*>::iterator pos_;
};

class MainLoop {
 public:
  using Handler = std::function<void()>;

  // What a loop runs besides its own fd handlers, posted work and bottom halves.
  enum class Timers {
    kRun,   // the timers of every clock (the main loop; the loop that ran last is woken for them)
    kNone,  // none: an I/O thread's loop (QEMU's iothread AioContext has no main-loop timers)
  };
  explicit MainLoop(Timers timers = Timers::kRun);
  ~MainLoop();
  MainLoop(const MainLoop&) = delete;
  MainLoop& operator=(const MainLoop&) = delete;

  // Calls on_read / on_write when fd is readable / writable (hang-up and error count as both, so
  // the handler sees EOF or the error on its next read/write). An empty handler means no interest
  // in that direction; both empty removes the fd. Replaces any earlier handlers for fd. Safe to
  // call from inside any handler, including fd's own.
  Status set_fd_handler(int fd, Handler on_read, Handler on_write);
  void remove_fd_handler(int fd) { (void)set_fd_handler(fd, nullptr, nullptr); }
  // Turns interest in one direction off or on without replacing the handlers.
  void enable_fd_read(int fd, bool on);
  void enable_fd_write(int fd, bool on);

  // Called before every wait (QEMU's GSource prepare): lets users re-check a condition such as a
  // frontend's can_read. Returns an id for remove_prepare_hook.
  int add_prepare_hook(std::function<void()> fn);
  void remove_prepare_hook(int id);

  // Thread-safe: runs fn on the loop thread, in the order posted.
  void post(std::function<void()> fn);
  // Thread-safe: makes a blocked run_once return soon.
  void wake();
  // Thread-safe: makes run() return after the current iteration.
  void quit();
  bool quit_requested() const { return quit_.load(std::memory_order_acquire); }
  void clear_quit() { quit_.store(false, std::memory_order_release); }

  // One iteration: waits up to timeout_ns (-1: no limit other than the nearest timer deadline, 0:
  // poll) for events, then runs fd handlers, posted work, bottom halves and due timers. Returns
  // true if anything ran.
  bool run_once(int64_t timeout_ns = -1);
  // Runs iterations until quit() (clears the request before returning).
  void run();

  bool in_loop_thread() const;

 private:
  friend class BottomHalf;
  struct FdEntry {
    Handler on_read, on_write;
    bool want_read = false, want_write = false;
    uint32_t gen = 0;
    uint32_t registered_events = 0;
    bool in_epoll = false;
  };
  void update_epoll(int fd, FdEntry& e);
  bool run_posted();
  bool run_bottom_halves();
  void drain_wakeup();

  const Timers timers_;
  int epfd_ = -1;
  int wakefd_ = -1;
  uint32_t next_gen_ = 1;
  std::unordered_map<int, std::shared_ptr<FdEntry>> fds_;
  std::vector<std::pair<int, std::function<void()>>> prepare_;
  int next_prepare_id_ = 1;

  std::mutex lock_;  // protects posted_ and bhs_
  std::vector<std::function<void()>> posted_;
  std::list<BottomHalf*> bhs_;
  std::atomic<bool> work_pending_{false};
  std::atomic<bool> wake_pending_{false};
  std::atomic<bool> quit_{false};
  std::atomic<std::thread::id> owner_{};
};

// The process-wide loop (created on first use, never destroyed).
MainLoop& main_loop();
// main_loop().post(fn): hand work to the main loop from any thread.
void run_on_main_loop(std::function<void()> fn);

}  // namespace machina
