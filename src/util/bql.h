// The big lock (QEMU's BQL): device models, timers and the main loop's handlers run with it held.
// vCPU threads run guest code without it and take it around every access to a device (MMIO, port
// I/O, interrupt acknowledge). The main loop holds it while dispatching, not while waiting.
//
// The lock is recursive per thread: code already holding it may call bql_lock() again.
#pragma once

namespace machina {

void bql_lock();
void bql_unlock();
// Whether the calling thread holds the lock.
bool bql_locked();

class BqlGuard {
 public:
  BqlGuard() { bql_lock(); }
  ~BqlGuard() { bql_unlock(); }
  BqlGuard(const BqlGuard&) = delete;
  BqlGuard& operator=(const BqlGuard&) = delete;
};

// Drops the lock for a scope (a blocking wait on a thread that holds it) and takes it back.
class BqlUnlockGuard {
 public:
  BqlUnlockGuard();
  ~BqlUnlockGuard();
  BqlUnlockGuard(const BqlUnlockGuard&) = delete;
  BqlUnlockGuard& operator=(const BqlUnlockGuard&) = delete;

 private:
  int depth_;
};

}  // namespace machina
