#include "block/aio-context.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <mutex>
#include <utility>
#include <vector>

#include "util/main-loop.h"

namespace machina {

namespace {

struct Source {
  int id;
  int fd;
  std::function<bool()> process;
};

class BlockAioContext {
 public:
  BlockAioContext() {
    efd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    (void)main_loop().set_fd_handler(
        efd_, [this] { run_deferred(); }, nullptr);
  }

  void defer(std::function<void()> fn) {
    {
      std::lock_guard lock(mu_);
      deferred_.push_back(std::move(fn));
    }
    uint64_t one = 1;
    (void)!::write(efd_, &one, sizeof one);
  }

  int add_source(int fd, std::function<bool()> process) {
    int id = next_id_++;
    sources_.push_back(Source{id, fd, process});
    (void)main_loop().set_fd_handler(
        fd, [process] { process(); }, nullptr);
    return id;
  }

  void remove_source(int id) {
    for (auto it = sources_.begin(); it != sources_.end(); ++it) {
      if (it->id == id) {
        main_loop().remove_fd_handler(it->fd);
        sources_.erase(it);
        return;
      }
    }
  }

  bool run_deferred() {
    uint64_t v;
    (void)!::read(efd_, &v, sizeof v);
    std::vector<std::function<void()>> work;
    {
      std::lock_guard lock(mu_);
      work.swap(deferred_);
    }
    for (auto& fn : work) fn();
    return !work.empty();
  }

  bool run_sources() {
    bool progress = false;
    // Copied: a callback may add or remove sources.
    auto sources = sources_;
    for (auto& s : sources) progress |= s.process();
    return progress;
  }

  uint64_t add_timer(BlockAioTimer* t) {
    uint64_t id = next_timer_id_++;
    timers_.emplace_back(id, t);
    return id;
  }

  void remove_timer(uint64_t id) {
    std::erase_if(timers_, [id](const auto& e) { return e.first == id; });
  }

  bool run_timers() {
    bool progress = false;
    // Copied: a callback may create or destroy timers (destroyed ones are skipped by id).
    auto timers = timers_;
    for (auto& [id, t] : timers) {
      bool alive = std::any_of(timers_.begin(), timers_.end(),
                               [id = id](const auto& e) { return e.first == id; });
      if (alive) progress |= t->run_if_due();
    }
    return progress;
  }

  // Nanoseconds until the nearest block timer can come due by itself; -1 if none.
  int64_t timer_timeout_ns() const {
    int64_t best = -1;
    for (auto& [id, t] : timers_) {
      int64_t expire = t->expire_time();
      if (expire < 0) continue;
      int64_t left = std::max<int64_t>(0, expire - clock_get_ns(t->clock()));
      if (left > 0 && t->clock() == ClockType::Virtual &&
          (virtual_clock_mode() == VirtualClockMode::Manual || !virtual_clock_running())) {
        continue;  // that clock does not move by itself
      }
      if (best < 0 || left < best) best = left;
    }
    return best;
  }

  bool poll(bool blocking, int timeout_ms) {
    bool progress = run_deferred();
    progress |= run_sources();
    progress |= run_timers();
    if (progress || !blocking) return progress;
    std::vector<pollfd> fds;
    fds.push_back(pollfd{efd_, POLLIN, 0});
    for (auto& s : sources_) fds.push_back(pollfd{s.fd, POLLIN, 0});
    int64_t timeout_ns = timer_timeout_ns();
    if (timeout_ms >= 0) {
      int64_t asked = int64_t(timeout_ms) * kNsPerMs;
      timeout_ns = timeout_ns < 0 ? asked : std::min(timeout_ns, asked);
    }
    timespec ts{};
    if (timeout_ns >= 0)
      ts = timespec{time_t(timeout_ns / kNsPerSec), long(timeout_ns % kNsPerSec)};
    (void)::ppoll(fds.data(), fds.size(), timeout_ns >= 0 ? &ts : nullptr, nullptr);
    progress = run_deferred();
    progress |= run_sources();
    progress |= run_timers();
    return progress;
  }

 private:
  int efd_ = -1;
  std::mutex mu_;
  std::vector<std::function<void()>> deferred_;
  std::vector<Source> sources_;
  int next_id_ = 1;
  std::vector<std::pair<uint64_t, BlockAioTimer*>> timers_;
  uint64_t next_timer_id_ = 1;
};

// Process-wide, never destroyed (like the main loop it lives on).
BlockAioContext& ctx() {
  static auto* c = new BlockAioContext;
  return *c;
}

}  // namespace

void block_aio_init() {
  (void)ctx();
}
void block_defer(std::function<void()> fn) {
  ctx().defer(std::move(fn));
}
int block_add_source(int fd, std::function<bool()> process) {
  return ctx().add_source(fd, std::move(process));
}
void block_remove_source(int id) {
  ctx().remove_source(id);
}
bool block_aio_poll(bool blocking, int timeout_ms) {
  return ctx().poll(blocking, timeout_ms);
}

BlockAioTimer::BlockAioTimer(ClockType clock, std::function<void()> cb)
    : cb_(std::move(cb)), timer_(clock, [this] { fire(); }) {
  id_ = ctx().add_timer(this);
}

BlockAioTimer::~BlockAioTimer() {
  ctx().remove_timer(id_);
}

void BlockAioTimer::fire() {
  // A copy: the callback may destroy this timer.
  std::function<void()> cb = cb_;
  if (cb) cb();
}

bool BlockAioTimer::run_if_due() {
  int64_t expire = timer_.expire_time();
  if (expire < 0 || clock_get_ns(timer_.clock()) < expire) return false;
  timer_.del();
  fire();
  return true;
}

}  // namespace machina
