// Internal to the qtest server: how intercepted GPIO lines reach their session. Interceptors hold
// the relay, not the session, so a line that outlives its session only finds the relay empty.
#pragma once

#include <memory>

#include "accel/qtest/qtest-session.h"

namespace machina {

struct QtestSession::Relay : std::enable_shared_from_this<QtestSession::Relay> {
  QtestSession* session = nullptr;
  // Reports a line's level (from the main loop thread; other threads hand it over).
  void level(int n, int level);
};

}  // namespace machina
