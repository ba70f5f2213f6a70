#include "system/memory_epoch.h"
#include "util/thread-signals.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

namespace machina {

namespace epoch_detail {

std::atomic<uint64_t> global_epoch{1};  // 0 marks a slot outside any read section

}  // namespace epoch_detail

namespace {

using epoch_detail::ReaderSlot;

struct Retired {
  uint64_t tag;  // epoch value when retired: readers that entered at or before it may hold it
  std::function<void()> fn;
};

// Never destroyed: the reclaimer thread and late thread exits may use it during process exit.
struct EpochState {
  std::mutex slots_mu;
  std::vector<ReaderSlot*> slots;  // never freed; reused when a thread exits

  std::mutex mu;
  std::condition_variable wake;  // reclaimer thread: new work
  std::deque<Retired> items;     // in increasing tag order
  unsigned running = 0;          // threads currently running retired functions
  bool thread_started = false;
};

EpochState& state() {
  static EpochState* s = new EpochState;
  return *s;
}

thread_local unsigned t_freeing = 0;  // nesting of retired functions running on this thread

// Releases the thread's reader slot at thread exit.
struct SlotReleaser {
  ReaderSlot* slot = nullptr;
  ~SlotReleaser() {
    if (!slot) return;
    slot->active.store(0, std::memory_order_release);
    slot->in_use.store(false, std::memory_order_release);
    epoch_detail::tls.slot = nullptr;
  }
};
thread_local SlotReleaser t_releaser;

// Smallest epoch any reader is pinned at, or UINT64_MAX.
uint64_t min_active_epoch() {
  auto& s = state();
  uint64_t min = std::numeric_limits<uint64_t>::max();
  std::lock_guard lk(s.slots_mu);
  for (ReaderSlot* slot : s.slots) {
    uint64_t v = slot->active.load(std::memory_order_seq_cst);
    if (v != 0 && v < min) min = v;
  }
  return min;
}

void reclaimer_main() {
  block_all_signals_in_this_thread();
  auto& s = state();
  auto backoff = std::chrono::microseconds(100);
  std::unique_lock lk(s.mu);
  for (;;) {
    if (s.items.empty()) {
      backoff = std::chrono::microseconds(100);
      s.wake.wait(lk);
      continue;
    }
    lk.unlock();
    std::this_thread::sleep_for(backoff);
    if (epoch_reclaim() == 0 && backoff < std::chrono::milliseconds(2)) backoff *= 2;
    lk.lock();
  }
}

}  // namespace

ReaderSlot* epoch_detail::register_thread() {
  auto& s = state();
  ReaderSlot* slot = nullptr;
  {
    std::lock_guard lk(s.slots_mu);
    for (ReaderSlot* candidate : s.slots) {
      if (!candidate->in_use.load(std::memory_order_relaxed)) {
        slot = candidate;
        break;
      }
    }
    if (!slot) {
      slot = new ReaderSlot;
      s.slots.push_back(slot);
    }
    slot->in_use.store(true, std::memory_order_relaxed);
  }
  t_releaser.slot = slot;
  return slot;
}

void epoch_retire(std::function<void()> free_fn) {
  auto& s = state();
  std::lock_guard lk(s.mu);
  // Tags are taken under the lock so that the queue stays ordered.
  uint64_t tag = epoch_detail::global_epoch.fetch_add(1, std::memory_order_seq_cst);
  s.items.push_back(Retired{tag, std::move(free_fn)});
  if (!s.thread_started) {
    s.thread_started = true;
    std::thread(reclaimer_main).detach();
  }
  s.wake.notify_one();
}

size_t epoch_reclaim() {
  auto& s = state();
  // Items retired after this load carry a tag >= limit; readers of older items are visible to the
  // scan below because their slot store precedes the unpublish that preceded the retire.
  uint64_t limit = epoch_detail::global_epoch.load(std::memory_order_seq_cst);
  uint64_t min = std::min(limit, min_active_epoch());
  std::vector<std::function<void()>> run;
  bool counted = false;
  {
    std::lock_guard lk(s.mu);
    while (!s.items.empty() && s.items.front().tag < min) {
      run.push_back(std::move(s.items.front().fn));
      s.items.pop_front();
    }
    if (!run.empty() && t_freeing == 0) {
      ++s.running;
      counted = true;
    }
  }
  ++t_freeing;
  for (auto& fn : run) fn();
  --t_freeing;
  if (counted) {
    std::lock_guard lk(s.mu);
    --s.running;
  }
  return run.size();
}

Status epoch_drain() {
  if (epoch_in_reader()) {
    return generic_error("cannot wait for memory readers from inside a read section");
  }
  auto& s = state();
  uint64_t target = epoch_detail::global_epoch.load(std::memory_order_seq_cst);
  for (;;) {
    epoch_reclaim();
    {
      std::lock_guard lk(s.mu);
      bool pending = !s.items.empty() && s.items.front().tag < target;
      bool others_running = s.running > (t_freeing ? 1u : 0u);
      if (!pending && !others_running) return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

size_t epoch_pending() {
  auto& s = state();
  std::lock_guard lk(s.mu);
  return s.items.size();
}

}  // namespace machina
