// I/O threads (QEMU's iothread): `-object iothread,id=ID` / object-add starts a thread named
// "IO ID" that runs an event loop of its own; a device given `iothread=ID` runs its virtqueue
// handlers there instead of on the main loop. Handlers take the big lock as everywhere in
// machina (device models are BQL-protected); block-layer completions still arrive on the main
// loop. QEMU's polling properties are accepted and reported (query-iothreads); machina's loop
// does not busy-poll.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "qom/object-interfaces.h"
#include "qom/object.h"
#include "util/main-loop.h"

namespace machina {

inline constexpr const char* kTypeIOThread = "iothread";

class IOThread : public Object, public UserCreatable {
 public:
  IOThread();
  ~IOThread() override;  // stops the loop and joins the thread

  Status complete() override;  // starts the thread
  Status can_be_deleted() override;

  // The thread's loop (for bottom halves and fd handlers of the devices that use it).
  MainLoop& loop() { return *loop_; }
  // The thread's kernel id (query-iothreads' thread-id); 0 before complete().
  pid_t thread_id() const { return tid_.load(std::memory_order_acquire); }
  std::string id() const { return parent() ? name_in_parent() : std::string(); }

  // Devices using the thread; object-del refuses while there is one.
  void add_user() { ++users_; }
  void remove_user() { --users_; }

  int64_t poll_max_ns_ = 32768;  // QEMU's defaults (IOTHREAD_POLL_MAX_NS_DEFAULT on Linux)
  int64_t poll_grow_ = 0;
  int64_t poll_shrink_ = 0;
  int64_t aio_max_batch_ = 0;

 private:
  std::unique_ptr<MainLoop> loop_;
  std::thread thread_;
  std::atomic<pid_t> tid_{0};
  int users_ = 0;
};

// Every iothread object under /objects, in name order.
std::vector<IOThread*> iothreads();

}  // namespace machina
