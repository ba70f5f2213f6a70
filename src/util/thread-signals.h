// Helper threads (I/O threads, block workers, the memory reclaimer) must never be the thread a
// process-directed signal is delivered to: SIGTERM/SIGINT/SIGHUP reach the main loop through a
// signalfd, which works only while every thread blocks them; a helper started before the main
// thread blocked them would otherwise take the signal's default action and kill the process.
#pragma once

#include <signal.h>

namespace machina {

// Blocks every signal in the calling thread (call first thing in a helper thread).
inline void block_all_signals_in_this_thread() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
}

}  // namespace machina
