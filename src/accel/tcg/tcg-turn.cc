// The software CPU's turn: a ticket lock.
#include "accel/tcg/tcg-turn.h"

namespace machina::tcg {

TcgTurn& TcgTurn::get() {
  static TcgTurn* turn = new TcgTurn;  // lives as long as the process
  return *turn;
}

void TcgTurn::acquire() {
  std::unique_lock g(lock_);
  uint64_t ticket = next_ticket_++;
  cv_.wait(g, [&] { return serving_ == ticket; });
}

void TcgTurn::release() {
  std::lock_guard g(lock_);
  serving_++;
  cv_.notify_all();
}

bool TcgTurn::contended() const {
  std::lock_guard g(lock_);
  return next_ticket_ - serving_ > 1;
}

}  // namespace machina::tcg
