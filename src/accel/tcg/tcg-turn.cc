// The software CPU's turn: a ticket lock.
#include "accel/tcg/tcg-turn.h"

#include "util/bql.h"

namespace machina::tcg {

namespace {
thread_local bool holding = false;
}  // namespace

TcgTurn& TcgTurn::get() {
  static TcgTurn* turn = new TcgTurn;  // lives as long as the process
  return *turn;
}

void TcgTurn::acquire() {
  std::unique_lock g(lock_);
  uint64_t ticket = next_ticket_++;
  cv_.wait(g, [&] { return serving_ == ticket; });
  holding = true;
}

void TcgTurn::release() {
  holding = false;
  std::lock_guard g(lock_);
  serving_++;
  cv_.notify_all();
}

bool TcgTurn::contended() const {
  std::lock_guard g(lock_);
  return next_ticket_ - serving_ > 1;
}

bool TcgTurn::held() {
  return holding;
}

void tcg_run_exclusive(const std::function<void()>& fn) {
  if (TcgTurn::held()) {
    fn();
    return;
  }
  if (bql_locked()) {
    BqlUnlockGuard unlocked;
    TcgTurnGuard turn;
    fn();
    return;
  }
  TcgTurnGuard turn;
  fn();
}

}  // namespace machina::tcg
