// Where the block layer's completions run (QEMU's AioContext for the main loop): engines hand
// finished requests over here, and the callbacks run on the main loop thread (which holds the
// BQL while dispatching), or inside block_aio_poll() when a caller drains.
#pragma once

#include <functional>

namespace machina {

// Sets the context up on the calling (main loop) thread; engines call it before they start threads.
void block_aio_init();

// Thread-safe: runs fn on the main loop (or in the next block_aio_poll), in the order deferred.
void block_defer(std::function<void()> fn);

// Completes a request later with `ret` (never inside the call that started it).
inline void block_defer_cb(std::function<void(int)> cb, int ret) {
  block_defer([cb = std::move(cb), ret] { cb(ret); });
}

// A completion source: an fd that becomes readable when there is work, and the function that
// does the work (returns true if it completed anything). Registered with the main loop too.
// Loop thread only.
int block_add_source(int fd, std::function<bool()> process);
void block_remove_source(int id);

// One round of completion handling on the calling thread: deferred callbacks and every source.
// With `blocking`, waits (up to timeout_ms, -1 for no limit) for a source when nothing was
// ready. Returns true if anything ran. Must not be called on another thread than the main loop's
// while the main loop runs.
bool block_aio_poll(bool blocking, int timeout_ms = -1);

}  // namespace machina
