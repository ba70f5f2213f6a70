#include "block/aio-context.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <mutex>
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

  bool poll(bool blocking, int timeout_ms) {
    bool progress = run_deferred();
    progress |= run_sources();
    if (progress || !blocking) return progress;
    std::vector<pollfd> fds;
    fds.push_back(pollfd{efd_, POLLIN, 0});
    for (auto& s : sources_) fds.push_back(pollfd{s.fd, POLLIN, 0});
    (void)::poll(fds.data(), fds.size(), timeout_ms);
    progress = run_deferred();
    progress |= run_sources();
    return progress;
  }

 private:
  int efd_ = -1;
  std::mutex mu_;
  std::vector<std::function<void()>> deferred_;
  std::vector<Source> sources_;
  int next_id_ = 1;
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

}  // namespace machina
