// The software CPU runs one vCPU at a time (as QEMU's single-threaded TCG, -accel tcg,thread=
// single, though each vCPU keeps a thread of its own): a vCPU thread holds the turn while it runs
// guest instructions and hands it on at the end of a slice, when it halts, and when the guest
// spins (PAUSE) while another vCPU is waiting. So LOCK-prefixed instructions are atomic across
// vCPUs, and one vCPU's stores are seen by the others in program order, without host atomics in
// the interpreter. Turns are granted in the order they were asked for.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace machina::tcg {

class TcgTurn {
 public:
  // The one turn of the process.
  static TcgTurn& get();

  void acquire();
  void release();
  // Whether a vCPU waits for the turn (read by the holder).
  bool contended() const;
  // Whether the calling thread holds the turn.
  static bool held();

 private:
  mutable std::mutex lock_;
  std::condition_variable cv_;
  uint64_t next_ticket_ = 0, serving_ = 0;
};

// Runs `fn` while no vCPU runs guest code: holding the turn (dropping the big lock while it waits
// for it, since a vCPU holding the turn may wait for the big lock). For dirty-page logging, which
// must change every vCPU's TLB (system/dirty_log.h).
void tcg_run_exclusive(const std::function<void()>& fn);

// Holds the turn for a scope.
class TcgTurnGuard {
 public:
  TcgTurnGuard() { TcgTurn::get().acquire(); }
  ~TcgTurnGuard() { TcgTurn::get().release(); }
  TcgTurnGuard(const TcgTurnGuard&) = delete;
  TcgTurnGuard& operator=(const TcgTurnGuard&) = delete;
};

}  // namespace machina::tcg
