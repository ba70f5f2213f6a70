#include "util/main-loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "util/bql.h"
#include "util/qemu-timer.h"

namespace machina {

namespace {

// The loop that timer changes wake up: the one that ran most recently.
std::atomic<MainLoop*> g_timer_loop{nullptr};

void install_timer_notify() {
  static bool installed = [] {
    timers_set_notify([] {
      if (MainLoop* l = g_timer_loop.load(std::memory_order_acquire)) l->wake();
    });
    return true;
  }();
  (void)installed;
}

uint64_t epoll_key(int fd, uint32_t gen) {
  return (uint64_t(gen) << 32) | uint32_t(fd);
}

}  // namespace

// ---------------------------------------------------------------- bottom halves

void BottomHalf::schedule() {
  {
    std::lock_guard g(loop_.lock_);
    if (scheduled_.load(std::memory_order_relaxed)) return;
    scheduled_.store(true, std::memory_order_relaxed);
    pos_ = loop_.bhs_.insert(loop_.bhs_.end(), this);
    loop_.work_pending_.store(true, std::memory_order_release);
  }
  loop_.wake();
}

void BottomHalf::cancel() {
  std::lock_guard g(loop_.lock_);
  if (!scheduled_.load(std::memory_order_relaxed)) return;
  loop_.bhs_.erase(pos_);
  scheduled_.store(false, std::memory_order_relaxed);
}

// ---------------------------------------------------------------- the loop

MainLoop::MainLoop(Timers timers) : timers_(timers) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epfd_ < 0 || wakefd_ < 0) {
    std::fprintf(stderr, "machina: cannot create the main loop: %s\n", strerror(errno));
    std::abort();
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = ~uint64_t(0);
  epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
  owner_.store(std::this_thread::get_id());
  install_timer_notify();
}

MainLoop::~MainLoop() {
  MainLoop* self = this;
  g_timer_loop.compare_exchange_strong(self, nullptr);
  {
    std::lock_guard g(lock_);
    for (BottomHalf* bh : bhs_) bh->scheduled_.store(false);
    bhs_.clear();
  }
  close(wakefd_);
  close(epfd_);
}

bool MainLoop::in_loop_thread() const {
  return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
}

void MainLoop::update_epoll(int fd, FdEntry& e) {
  uint32_t events = (e.want_read ? EPOLLIN : 0u) | (e.want_write ? EPOLLOUT : 0u);
  if (events == 0) {
    if (e.in_epoll) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    e.in_epoll = false;
    e.registered_events = 0;
    return;
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = epoll_key(fd, e.gen);
  if (e.in_epoll && e.registered_events == events) return;
  int op = e.in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  int r = epoll_ctl(epfd_, op, fd, &ev);
  if (r < 0 && errno == EEXIST) r = epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
  if (r < 0 && errno == ENOENT) r = epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  e.in_epoll = r == 0;
  e.registered_events = r == 0 ? events : 0;
}

Status MainLoop::set_fd_handler(int fd, Handler on_read, Handler on_write) {
  if (fd < 0) return generic_error("invalid file descriptor");
  auto it = fds_.find(fd);
  if (!on_read && !on_write) {
    if (it == fds_.end()) return Status::Ok();
    if (it->second->in_epoll) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    fds_.erase(it);
    return Status::Ok();
  }
  // A new entry each time: the old handlers stay alive while they run.
  auto e = std::make_shared<FdEntry>();
  e->on_read = std::move(on_read);
  e->on_write = std::move(on_write);
  e->want_read = bool(e->on_read);
  e->want_write = bool(e->on_write);
  e->gen = next_gen_++;
  if (it != fds_.end()) {
    e->in_epoll = it->second->in_epoll;
    it->second = e;
  } else {
    fds_.emplace(fd, e);
  }
  e->registered_events = 0;  // force the new key into epoll
  uint32_t events = (e->want_read ? EPOLLIN : 0u) | (e->want_write ? EPOLLOUT : 0u);
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = epoll_key(fd, e->gen);
  int op = e->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  int r = epoll_ctl(epfd_, op, fd, &ev);
  if (r < 0 && errno == EEXIST) r = epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
  if (r < 0 && errno == ENOENT) r = epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  if (r < 0) {
    int err = errno;
    fds_.erase(fd);
    return generic_error(std::string("cannot watch file descriptor: ") + strerror(err));
  }
  e->in_epoll = true;
  e->registered_events = events;
  return Status::Ok();
}

void MainLoop::enable_fd_read(int fd, bool on) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return;
  FdEntry& e = *it->second;
  bool want = on && e.on_read;
  if (e.want_read == want) return;
  e.want_read = want;
  update_epoll(fd, e);
}

void MainLoop::enable_fd_write(int fd, bool on) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return;
  FdEntry& e = *it->second;
  bool want = on && e.on_write;
  if (e.want_write == want) return;
  e.want_write = want;
  update_epoll(fd, e);
}

int MainLoop::add_prepare_hook(std::function<void()> fn) {
  int id = next_prepare_id_++;
  prepare_.emplace_back(id, std::move(fn));
  return id;
}

void MainLoop::remove_prepare_hook(int id) {
  for (auto it = prepare_.begin(); it != prepare_.end(); ++it) {
    if (it->first == id) {
      prepare_.erase(it);
      return;
    }
  }
}

void MainLoop::post(std::function<void()> fn) {
  {
    std::lock_guard g(lock_);
    posted_.push_back(std::move(fn));
    work_pending_.store(true, std::memory_order_release);
  }
  wake();
}

void MainLoop::wake() {
  if (in_loop_thread()) return;  // the loop is not blocked: it is running us
  if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
  uint64_t one = 1;
  ssize_t r = write(wakefd_, &one, sizeof(one));
  (void)r;
}

void MainLoop::quit() {
  quit_.store(true, std::memory_order_release);
  if (!in_loop_thread()) {
    wake_pending_.store(true);
    uint64_t one = 1;
    ssize_t r = write(wakefd_, &one, sizeof(one));
    (void)r;
  }
}

void MainLoop::drain_wakeup() {
  uint64_t v;
  ssize_t r = read(wakefd_, &v, sizeof(v));
  (void)r;
  wake_pending_.store(false, std::memory_order_release);
}

bool MainLoop::run_posted() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard g(lock_);
    if (posted_.empty()) return false;
    work.swap(posted_);
  }
  for (auto& fn : work) fn();
  return true;
}

bool MainLoop::run_bottom_halves() {
  std::unique_lock g(lock_);
  size_t n = bhs_.size();  // BHs scheduled by these callbacks run next iteration
  bool any = false;
  while (n-- > 0 && !bhs_.empty()) {
    BottomHalf* bh = bhs_.front();
    bhs_.pop_front();
    bh->scheduled_.store(false, std::memory_order_relaxed);
    std::function<void()> cb = std::move(bh->cb_);
    bool destroyed = false;
    bh->destroyed_flag_ = &destroyed;
    g.unlock();
    if (cb) cb();
    g.lock();
    if (!destroyed) {
      bh->destroyed_flag_ = nullptr;
      if (!bh->cb_) bh->cb_ = std::move(cb);
    }
    any = true;
  }
  return any;
}

bool MainLoop::run_once(int64_t timeout_ns) {
  owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  BqlGuard bql;  // hooks and handlers run under the big lock; the wait below does not hold it
  if (timers_ == Timers::kRun && g_timer_loop.load(std::memory_order_relaxed) != this) {
    g_timer_loop.store(this, std::memory_order_release);
  }
  for (size_t i = 0; i < prepare_.size(); i++) {
    auto fn = prepare_[i].second;  // a hook may remove hooks
    fn();
  }

  {
    std::lock_guard g(lock_);
    if (!posted_.empty() || !bhs_.empty()) timeout_ns = 0;
    work_pending_.store(false, std::memory_order_relaxed);
  }
  if (quit_requested()) timeout_ns = 0;
  int64_t deadline = timers_ == Timers::kRun ? timers_deadline_ns() : -1;
  if (deadline >= 0 && (timeout_ns < 0 || deadline < timeout_ns)) timeout_ns = deadline;

  epoll_event events[64];
  int n;
  {
    BqlUnlockGuard unlocked;
    if (timeout_ns < 0) {
      n = epoll_wait(epfd_, events, 64, -1);
    } else {
      timespec ts{time_t(timeout_ns / kNsPerSec), long(timeout_ns % kNsPerSec)};
      n = epoll_pwait2(epfd_, events, 64, &ts, nullptr);
      if (n < 0 && errno == ENOSYS) {
        n = epoll_wait(epfd_, events, 64, int((timeout_ns + kNsPerMs - 1) / kNsPerMs));
      }
    }
  }

  bool progress = false;
  for (int i = 0; i < n; i++) {
    uint64_t key = events[i].data.u64;
    if (key == ~uint64_t(0)) {
      drain_wakeup();
      continue;
    }
    int fd = int(uint32_t(key));
    uint32_t gen = uint32_t(key >> 32);
    auto it = fds_.find(fd);
    if (it == fds_.end() || it->second->gen != gen) continue;  // removed or replaced meanwhile
    std::shared_ptr<FdEntry> e = it->second;
    uint32_t ev = events[i].events;
    bool bad = ev & (EPOLLHUP | EPOLLERR);
    if ((ev & EPOLLIN || bad) && e->want_read && e->on_read) {
      e->on_read();
      progress = true;
    }
    it = fds_.find(fd);
    if (it == fds_.end() || it->second != e) continue;
    if ((ev & EPOLLOUT || bad) && e->want_write && e->on_write) {
      e->on_write();
      progress = true;
    }
  }

  progress |= run_posted();
  progress |= run_bottom_halves();
  if (timers_ == Timers::kRun) progress |= timers_run_all_expired();
  return progress;
}

void MainLoop::run() {
  while (!quit_requested()) run_once(-1);
  clear_quit();
}

MainLoop& main_loop() {
  static MainLoop* loop = new MainLoop;
  return *loop;
}

void run_on_main_loop(std::function<void()> fn) {
  main_loop().post(std::move(fn));
}

}  // namespace machina
