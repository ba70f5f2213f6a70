// The thread-pool engine: worker threads run the system calls; the callbacks are deferred to the
// block AioContext.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "block/aio-context.h"
#include "block/aio-engine.h"
#include "util/thread-signals.h"

namespace machina {

namespace {

constexpr int kWorkers = 4;

class ThreadPoolEngine : public AioEngine {
 public:
  ThreadPoolEngine() {
    block_aio_init();
    for (int i = 0; i < kWorkers; ++i)
      workers_.emplace_back([this] {
        block_all_signals_in_this_thread();
        work();
      });
  }
  ~ThreadPoolEngine() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  AioKind kind() const override { return AioKind::Threads; }

  void submit(IoRequest req) override {
    in_flight_->fetch_add(1);
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(req));
    }
    cv_.notify_one();
  }

  size_t in_flight() const override { return in_flight_->load(); }

 private:
  void work() {
    for (;;) {
      IoRequest req;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        // Requests queued before the engine dies still run: their owners wait for them.
        if (queue_.empty()) return;
        req = std::move(queue_.front());
        queue_.pop_front();
      }
      int64_t ret = aio_do_request(req);
      block_defer([cb = std::move(req.cb), ret, counter = in_flight_] {
        counter->fetch_sub(1);
        cb(ret);
      });
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<IoRequest> queue_;
  bool stop_ = false;
  // Shared with deferred completions, which may outlive the engine.
  std::shared_ptr<std::atomic<size_t>> in_flight_ = std::make_shared<std::atomic<size_t>>(0);
  std::vector<std::thread> workers_;
};

}  // namespace

std::shared_ptr<AioEngine> make_thread_pool_engine() {
  return std::make_shared<ThreadPoolEngine>();
}

}  // namespace machina
