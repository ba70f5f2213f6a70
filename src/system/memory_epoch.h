// Epoch-based reclamation for the memory API: readers (vCPUs, DMA) pin the current epoch without
// taking a lock; a writer retires an object it has unpublished and the object is freed only once
// every reader that could still see it has left. This is what keeps a flat view, and through it a
// device's region and owner, alive while an access into it is in flight (QEMU uses RCU for this).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "qapi/error.h"

namespace machina {

namespace epoch_detail {

struct alignas(64) ReaderSlot {
  std::atomic<uint64_t> active{0};  // epoch observed on entry; 0 while outside a read section
  std::atomic<bool> in_use{false};
};

struct ThreadState {
  ReaderSlot* slot = nullptr;
  unsigned depth = 0;
};

extern std::atomic<uint64_t> global_epoch;
inline constinit thread_local ThreadState tls{};
ReaderSlot* register_thread();

}  // namespace epoch_detail

// Enters a read section (nestable). Anything retired after this call stays alive until the
// matching epoch_exit().
inline void epoch_enter() {
  auto& t = epoch_detail::tls;
  if (t.depth++ == 0) {
    if (!t.slot) t.slot = epoch_detail::register_thread();
    // seq_cst: the slot store must be visible before this thread loads any published pointer.
    t.slot->active.store(epoch_detail::global_epoch.load(std::memory_order_seq_cst),
                         std::memory_order_seq_cst);
  }
}

inline void epoch_exit() {
  auto& t = epoch_detail::tls;
  if (--t.depth == 0) t.slot->active.store(0, std::memory_order_release);
}

inline bool epoch_in_reader() {
  return epoch_detail::tls.depth != 0;
}

// RAII read section.
class EpochGuard {
 public:
  EpochGuard() { epoch_enter(); }
  ~EpochGuard() { epoch_exit(); }
  EpochGuard(const EpochGuard&) = delete;
  EpochGuard& operator=(const EpochGuard&) = delete;
};

// Schedules `free_fn` to run once no reader that entered before this call remains. Call it after
// the object has been unpublished. `free_fn` runs on this thread (from epoch_reclaim) or on the
// background reclaimer thread, never inside a read section.
void epoch_retire(std::function<void()> free_fn);

// Runs, on this thread, every retired function that is safe to run now. Returns how many ran.
size_t epoch_reclaim();

// Waits until everything retired before the call has been freed. Fails if called from inside a
// read section (it would wait for itself).
Status epoch_drain();

// Retired functions not yet run.
size_t epoch_pending();

}  // namespace machina
