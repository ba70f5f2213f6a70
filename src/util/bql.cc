// The big lock: a mutex with a per-thread recursion depth.
#include "util/bql.h"

#include <cassert>
#include <mutex>

namespace machina {

namespace {
std::mutex& bql_mutex() {
  static std::mutex* m = new std::mutex;
  return *m;
}
thread_local int t_depth = 0;
}  // namespace

void bql_lock() {
  if (t_depth++ == 0) bql_mutex().lock();
}

void bql_unlock() {
  assert(t_depth > 0);
  if (--t_depth == 0) bql_mutex().unlock();
}

bool bql_locked() {
  return t_depth > 0;
}

BqlUnlockGuard::BqlUnlockGuard() : depth_(t_depth) {
  if (depth_ > 0) {
    t_depth = 0;
    bql_mutex().unlock();
  }
}

BqlUnlockGuard::~BqlUnlockGuard() {
  if (depth_ > 0) {
    bql_mutex().lock();
    t_depth = depth_;
  }
}

}  // namespace machina
